/// An optional field written as `null` when it has no value, where the synthesized `Encodable`
/// would leave it out: the API's answers always carry every documented field.
@propertyWrapper
struct Nullable<Value: Encodable>: Encodable {
    var wrappedValue: Value?

    init(wrappedValue: Value?) { self.wrappedValue = wrappedValue }

    func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        if let wrappedValue { try container.encode(wrappedValue) } else { try container.encodeNil() }
    }
}
extension Nullable: Sendable where Value: Sendable {}
extension Nullable: Equatable where Value: Equatable {}

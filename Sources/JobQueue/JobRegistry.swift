import Foundation

/// Maps `jobs.kind` strings to typed handlers. A kind the registry does not know is discarded
/// by the worker with a clear error; it never crashes a worker.
public struct JobRegistry: Sendable {
    struct Entry: Sendable {
        let kind: String
        let queue: String
        let timeout: TimeInterval
        let retryPolicy: RetryPolicy
        let run: @Sendable (Data, JobContext) throws -> Void
    }

    private(set) var entries: [String: Entry] = [:]

    public init() {}

    public mutating func register<K: JobKind>(_ handler: K) {
        precondition(entries[K.kind] == nil, "job kind \(K.kind) registered twice")
        entries[K.kind] = Entry(
            kind: K.kind, queue: K.queue, timeout: K.timeout, retryPolicy: K.retryPolicy,
            run: { data, context in
                let args: K.Args
                do {
                    args = try JobRegistry.decoder.decode(K.Args.self, from: data)
                } catch {
                    throw JobError.discard("arguments do not decode as \(K.kind): \(JobRegistry.describe(error))")
                }
                try handler.perform(args, context: context)
            })
    }

    public var kinds: [String] { entries.keys.sorted() }

    /// Every queue some registered kind runs on.
    public var queues: [String] { Set(entries.values.map(\.queue)).sorted() }

    public func queue(of kind: String) -> String? { entries[kind]?.queue }
    public func timeout(of kind: String) -> TimeInterval? { entries[kind]?.timeout }
    public func retryPolicy(of kind: String) -> RetryPolicy? { entries[kind]?.retryPolicy }

    func entry(_ kind: String) -> Entry? { entries[kind] }

    static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }()

    /// A decoding error described by the path of the field at fault, not by the input's values.
    static func describe(_ error: Error) -> String {
        guard let error = error as? DecodingError else { return "\(type(of: error))" }
        func path(_ context: DecodingError.Context) -> String {
            let p = context.codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
            return p.isEmpty ? "(root)" : p
        }
        switch error {
        case .keyNotFound(let key, let context):
            let parent = path(context)
            return "missing field \(parent == "(root)" ? key.stringValue : parent + "." + key.stringValue)"
        case .typeMismatch(let type, let context): return "field \(path(context)) is not of type \(type)"
        case .valueNotFound(let type, let context): return "field \(path(context)) is null, expected \(type)"
        case .dataCorrupted(let context): return "malformed at \(path(context))"
        @unknown default: return "undecodable"
        }
    }
}

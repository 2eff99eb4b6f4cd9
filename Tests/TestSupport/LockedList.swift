import Foundation

/// What the threads of a test report, in the order they report it.
/// `@unchecked Sendable`: `items` is read and written only under `lock`.
public final class LockedList<Element>: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [Element] = []

    public init() {}

    public func append(_ element: Element) { lock.withLock { items.append(element) } }
    public func append(contentsOf elements: [Element]) { lock.withLock { items += elements } }
    public var all: [Element] { lock.withLock { items } }
    public var count: Int { lock.withLock { items.count } }
}

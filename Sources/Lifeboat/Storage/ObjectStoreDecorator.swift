import Foundation

/// A store that wraps another and adds one behaviour: request counting, fault injection, retry
/// or a circuit breaker. Callers find a layer of a stack with `layer(_:)`.
public protocol ObjectStoreDecorator: ObjectStore {
  /// The store that this one forwards to.
  var base: ObjectStore { get }
}

extension ObjectStore {
  /// Returns the first store of type `T` in the decorator stack, starting with this store and
  /// following each decorator's `base`.
  public func layer<T>(_ type: T.Type) -> T? {
    var current: ObjectStore? = self
    while let store = current {
      if let match = store as? T { return match }
      current = (store as? ObjectStoreDecorator)?.base
    }
    return nil
  }
}

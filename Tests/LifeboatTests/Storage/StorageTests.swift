/// The storage layer's suites, grouped so that `swift test --filter Storage` selects them.
enum StorageTests {}

// swift-tools-version:6.0
import PackageDescription

let package = Package(
  name: "lifeboat",
  products: [
    .executable(name: "lifeboat", targets: ["lifeboat"]),
    .library(name: "Lifeboat", targets: ["Lifeboat"]),
    .library(name: "LifeboatSigV4", targets: ["LifeboatSigV4"]),
  ],
  targets: [
    .systemLibrary(
      name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
    .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
    .systemLibrary(
      name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
    .systemLibrary(name: "CCrypto", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
    .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),

    // The signer is pure: request, credentials and date in, headers out. No I/O.
    .target(name: "LifeboatSigV4", dependencies: ["CCrypto"]),
    .target(
      name: "Lifeboat",
      dependencies: ["CSQLite", "CZlib", "CCurl", "CCrypto", "CZstd", "LifeboatSigV4"]),
    .executableTarget(name: "lifeboat", dependencies: ["Lifeboat"]),

    .testTarget(
      name: "LifeboatSigV4Tests", dependencies: ["LifeboatSigV4"],
      resources: [.copy("Vectors")]),
    // Depends on the executable so that `swift test` builds the binary the end-to-end tests run.
    // Fixtures are scripts the tests run from the source tree, not bundle resources.
    .testTarget(name: "LifeboatTests", dependencies: ["Lifeboat", "lifeboat"], exclude: ["Fixtures"]),
  ],
  swiftLanguageModes: [.v5]
)

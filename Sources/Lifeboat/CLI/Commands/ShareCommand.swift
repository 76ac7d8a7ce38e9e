import Foundation

extension Command {
  static let share = Command(
    name: "share",
    summary: "Print a presigned URL that downloads a backup's archive without credentials.",
    usage: "lifeboat share <ID|latest> [--expires DURATION] [--repo s3://bucket/prefix] [options]",
    options: [
      OptionSpec("expires", value: "DURATION", help: "how long the URL works: 15m, 1h, 7d (default 1h, at most 7d)"),
    ] + CommonOptions.repository + CommonOptions.encryption + CommonOptions.logging,
    maxPositionals: 1,
    examples: [
      "lifeboat share latest --expires 1h --config /etc/lifeboat/lifeboat.conf",
      "curl -o backup.tar.gz \"$(lifeboat share 20261204T031500Z-web1 --repo s3://backups/app)\"",
    ],
    details: """
      Anyone holding the URL can download the archive until it expires, so hand it over as you
      would the data itself. The archive's SHA-256 is printed on stderr for checking the download.
      An encrypted archive downloads as ciphertext, and sharing it needs no key.
      Only S3 repositories can share.
      """,
    run: runShare)

  private static func runShare(_ context: CommandContext) throws -> Int32 {
    guard let selector = context.arguments.positionals.first else {
      throw UsageError(message: "missing backup id: give an id from 'lifeboat list', or 'latest'")
    }
    let expiresText = context.arguments.value("expires") ?? "1h"
    guard let seconds = parseDuration(expiresText), seconds >= 1, seconds <= 604_800 else {
      throw UsageError(message: "invalid --expires '\(expiresText)': give a duration from 1s to 7d, such as 1h")
    }
    _ = try context.configuration()
    let repository = try context.openRepository(create: false)
    guard let store = repository.store.layer(S3ObjectStore.self) else {
      throw LifeboatError(
        .usage, "share needs an S3 repository; \(repository.store.location) is a local directory",
        hint: "copy the archive file from the repository directory instead")
    }
    // The URL downloads the object as stored, so an encrypted backup needs no key here: its
    // encryption record has the stored size and SHA-256.
    let archive = try repository.storedArchive(id: repository.resolveID(selector, mustExist: true))
    let url = try store.presignedURL(key: archive.key, expires: seconds)
    context.print(url)
    FileHandle.standardError.write(Data(
      "archive \(archive.key), \(formatBytes(archive.size)), sha256 \(archive.sha256) (of the object as downloaded); the URL expires in \(expiresText)\n".utf8))
    return 0
  }
}

import Foundation

extension Command {
  static let restore = Command(
    name: "restore",
    summary: "Restore a backup into a directory after verifying every checksum.",
    usage: "lifeboat restore <ID|latest> --target DIR [--repo URL] [options]",
    options: [
      OptionSpec("target", short: "t", value: "DIR", help: "directory to restore into (created if missing)"),
      OptionSpec("only", value: "NAME", repeats: true, help: "restore only this source (e.g. app.db or config)"),
      OptionSpec("allow-external-symlinks", help: "restore symlinks that point outside the target"),
      OptionSpec("spool-dir", value: "DIR", help: "directory for temporary files (default $TMPDIR)"),
    ] + CommonOptions.repository + CommonOptions.encryption + CommonOptions.logging,
    maxPositionals: 1,
    examples: [
      "lifeboat restore latest --target /srv/restore --repo file:///srv/backups",
      "lifeboat restore 20261204T031500Z-web1 --target /tmp/r --only app.db --config /etc/lifeboat/lifeboat.conf",
    ],
    details: """
      The archive is extracted into a staging directory inside the target, its checksum and
      every file's SHA-256 are compared with the manifest and the database passes
      PRAGMA integrity_check before anything is moved into place. Members that would land
      outside the target (absolute paths, '..', links out, devices) are rejected.
      """,
    run: runRestore)

  private static func runRestore(_ context: CommandContext) throws -> Int32 {
    guard let selector = context.arguments.positionals.first else {
      throw UsageError(message: "missing backup id: give an id from 'lifeboat list', or 'latest'")
    }
    guard let target = context.arguments.value("target") else {
      throw UsageError(message: "missing --target DIR: the directory to restore into")
    }
    let configuration = try context.configuration()
    let repository = try context.openRepository(create: false)
    let runner = RestoreRunner(repository: repository, logger: context.logger)
    runner.allowExternalSymlinks = context.arguments.has("allow-external-symlinks")
    let only = context.arguments.values("only")
    if !only.isEmpty { runner.onlyNames = Set(only) }
    if let spool = configuration.string("backup.spool_dir") ?? context.arguments.value("spool-dir") {
      runner.spoolDirectory = absolutePath(spool)
    }

    let summary = try runner.restore(selector: selector, target: absolutePath(target))
    if !context.arguments.has("quiet") {
      context.print(
        "restored backup \(summary.id) into \(summary.target): \(summary.restoredNames.joined(separator: ", ")) (\(summary.fileCount) files, \(formatBytes(summary.bytes))), all checksums verified")
      for warning in summary.warnings { context.print("warning: \(warning)") }
    }
    context.logger.info("restore finished", [("id", .string(summary.id)), ("target", .string(summary.target))])
    return 0
  }
}

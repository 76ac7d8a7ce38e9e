import Foundation
import Testing

/// What a backup includes: excludes, several databases, mount points, and the dry run.
@Suite struct SelectionTests {
  @Test func excludesByNameAndPath() throws {
    let work = try TemporaryDirectory("exclude")
    let corpus = work.join("corpus")
    try TestSupport.makeCorpus(corpus)
    try TestSupport.shell("mkdir -p '\(corpus)/logs/cache/deep' && echo x > '\(corpus)/logs/cache/deep/a' && echo t > '\(corpus)/logs/app/scratch.tmp'")
    let repo = work.join("repo")
    let backup = try TestSupport.lifeboat([
      "backup", "--path", corpus + "/logs", "--exclude", "*.tmp", "--exclude", "logs/cache/**",
      "--repo", "file://" + repo,
    ])
    #expect(backup.status == 0, "\(backup.stderr)")
    let manifest = try FieldInputs.storedManifest(repository: repo)
    let paths = (manifest["files"] as? [[String: Any]] ?? []).compactMap { $0["path"] as? String }
    #expect(!paths.contains { $0.hasSuffix(".tmp") })
    #expect(!paths.contains { $0.hasPrefix("logs/cache") })
    #expect(paths.contains("logs/app/app.log"))
  }

  @Test func databaseFilesInTreeAreLeftToBackupAPI() throws {
    let work = try TemporaryDirectory("dbintree")
    let state = work.join("state")
    try TestSupport.makeCorpus(state, ["--keep-wal"])
    #expect(FileManager.default.fileExists(atPath: state + "/app.db-wal"))
    let repo = work.join("repo")
    let backup = try TestSupport.lifeboat([
      "backup", "--db", state + "/app.db", "--path", state, "--repo", "file://" + repo,
    ])
    // The tree "state" contains the database; its files are not archived a second time.
    #expect(backup.status == 0, "\(backup.stderr)")
    let manifest = try FieldInputs.storedManifest(repository: repo)
    let paths = (manifest["files"] as? [[String: Any]] ?? []).compactMap { $0["path"] as? String }
    #expect(paths.contains("app.db"))
    #expect(!paths.contains("state/app.db"))
    #expect(!paths.contains("state/app.db-wal"))
    #expect(!paths.contains("state/app.db-shm"))
    #expect(paths.contains("state/config/app.yaml"))
  }

  @Test func severalDatabases() throws {
    let work = try TemporaryDirectory("severaldb")
    try TestSupport.shell("""
      sqlite3 '\(work.path)/users.db' 'CREATE TABLE u(x); INSERT INTO u VALUES (1),(2);'
      sqlite3 '\(work.path)/jobs.db' 'PRAGMA journal_mode=WAL; CREATE TABLE j(x); INSERT INTO j VALUES (3);'
      mkdir -p '\(work.path)/other' && sqlite3 '\(work.path)/other/users.db' 'CREATE TABLE u(x);'
      """)
    let config = work.join("lifeboat.conf")
    try """
      [source]
      database = users.db
      database = jobs.db
      [repository]
      url = file://\(work.join("repo"))
      """.write(toFile: config, atomically: true, encoding: .utf8)
    let backup = try TestSupport.lifeboat(["backup", "--config", config])
    #expect(backup.status == 0, "\(backup.stderr)")
    let target = work.join("out")
    let restore = try TestSupport.lifeboat(["restore", "latest", "--config", config, "--target", target])
    #expect(restore.status == 0, "\(restore.stderr)")
    #expect(try TestSupport.shell("sqlite3 '\(target)/users.db' 'SELECT count(*) FROM u'").stdout == "2\n")
    #expect(try TestSupport.shell("sqlite3 '\(target)/jobs.db' 'SELECT x FROM j'").stdout == "3\n")

    let clash = try TestSupport.lifeboat([
      "backup", "--db", work.join("users.db"), "--db", work.join("other/users.db"),
      "--repo", "file://" + work.join("repo"),
    ])
    #expect(clash.status == 78)
    #expect(clash.stderr.contains("would both be stored as 'users.db'"))
  }

  @Test(.enabled(if: getuid() == 0, "needs root to mount a tmpfs"))
  func oneFileSystemStopsAtMounts() throws {
    let work = try TemporaryDirectory("onefs")
    let tree = work.join("tree")
    try TestSupport.shell("mkdir -p '\(tree)/mnt' && echo keep > '\(tree)/keep.txt'")
    let mount = try TestSupport.shell("mount -t tmpfs lifeboat-test '\(tree)/mnt' && echo inside > '\(tree)/mnt/inside.txt'")
    try #require(mount.status == 0, "mount failed: \(mount.stderr)")
    defer { _ = try? TestSupport.shell("umount '\(tree)/mnt'") }

    let repo = work.join("repo")
    let backup = try TestSupport.lifeboat(["backup", "--path", tree, "--one-file-system", "--repo", "file://" + repo])
    #expect(backup.status == 0, "\(backup.stderr)")
    let manifest = try FieldInputs.storedManifest(repository: repo)
    let paths = (manifest["files"] as? [[String: Any]] ?? []).compactMap { $0["path"] as? String }
    #expect(paths.contains("tree/keep.txt"))
    #expect(paths.contains("tree/mnt"))
    #expect(!paths.contains("tree/mnt/inside.txt"))
  }

  @Test func dryRunListsAndStoresNothing() throws {
    let work = try TemporaryDirectory("dryrun")
    let corpus = work.join("corpus")
    try TestSupport.makeCorpus(corpus)
    let repo = work.join("repo")
    let result = try TestSupport.lifeboat([
      "backup", "--dry-run", "--db", corpus + "/app.db", "--path", corpus + "/config", "--repo", "file://" + repo,
    ])
    #expect(result.status == 0, "\(result.stderr)")
    #expect(result.stdout.contains("app.db"))
    #expect(result.stdout.contains("config/app.yaml"))
    #expect(result.stdout.contains("dry run: would archive"))
    #expect(!FileManager.default.fileExists(atPath: repo))
  }
}

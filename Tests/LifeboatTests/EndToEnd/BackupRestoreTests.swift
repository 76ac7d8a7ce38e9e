import Foundation
import Testing

/// Backup → list → verify → restore through the real binary, with GNU tools as oracles.
@Suite struct BackupRestoreTests {
  @Test func roundTripIsByteIdentical() throws {
    let work = try TemporaryDirectory("roundtrip")
    let corpus = work.join("corpus")
    try TestSupport.makeCorpus(corpus)
    let repo = "file://" + work.join("repo")

    let backup = try TestSupport.lifeboat([
      "backup", "--db", corpus + "/app.db", "--path", corpus + "/config", "--path", corpus + "/logs",
      "--repo", repo,
    ])
    #expect(backup.status == 0, "\(backup.stderr)")
    #expect(backup.stdout.contains("complete"))

    let list = try TestSupport.lifeboat(["list", "--repo", repo, "--json"])
    #expect(list.status == 0)
    let items = try JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as? [[String: Any]]
    #expect(items?.count == 1)
    #expect((items?.first?["files"] as? Int ?? 0) > 30)

    let verify = try TestSupport.lifeboat(["verify", "--repo", repo])
    #expect(verify.status == 0, "\(verify.stdout) \(verify.stderr)")

    let target = work.join("restored")
    let restore = try TestSupport.lifeboat(["restore", "latest", "--target", target, "--repo", repo])
    #expect(restore.status == 0, "\(restore.stderr)")

    // Trees: same names, contents, modes, symlinks and mtimes.
    for tree in ["config", "logs"] {
      let diff = try TestSupport.shell("diff -r --no-dereference '\(corpus)/\(tree)' '\(target)/\(tree)'")
      #expect(diff.status == 0, "\(diff.stdout)")
      let listing = "cd '%@' && find \(tree) -printf '%%p %%y %%m %%T@ %%l\\n' | sort"
      let original = try TestSupport.shell(String(format: listing, corpus))
      let restored = try TestSupport.shell(String(format: listing, target))
      #expect(original.stdout == restored.stdout)
    }
    #expect(FileManager.default.fileExists(atPath: target + "/config/conf.d/overrides"))
    #expect(FileManager.default.fileExists(atPath: target + "/config/locales/de/Bewerbungsstatus-Übersicht.yaml"))

    // Database: identical content and a clean integrity check.
    let originalDump = try TestSupport.shell("sqlite3 '\(corpus)/app.db' .dump | sha256sum")
    let restoredDump = try TestSupport.shell("sqlite3 '\(target)/app.db' .dump | sha256sum")
    #expect(originalDump.stdout == restoredDump.stdout)
    let integrity = try TestSupport.shell("sqlite3 '\(target)/app.db' 'PRAGMA integrity_check'")
    #expect(integrity.stdout == "ok\n")
    #expect(!FileManager.default.fileExists(atPath: target + "/app.db-wal"))
  }

  @Test func archiveReadableByStockTools() throws {
    let work = try TemporaryDirectory("stocktools")
    let corpus = work.join("corpus")
    try TestSupport.makeCorpus(corpus)
    let repo = work.join("repo")
    let backup = try TestSupport.lifeboat([
      "backup", "--db", corpus + "/app.db", "--path", corpus + "/config", "--path", corpus + "/logs",
      "--repo", "file://" + repo,
    ])
    #expect(backup.status == 0, "\(backup.stderr)")

    let gzipTest = try TestSupport.shell("gzip -t '\(repo)'/backups/*.tar.gz")
    #expect(gzipTest.status == 0, "\(gzipTest.stderr)")
    let extract = work.join("extract")
    try FileManager.default.createDirectory(atPath: extract, withIntermediateDirectories: true)
    let untar = try TestSupport.shell("tar xzf '\(repo)'/backups/*.tar.gz -C '\(extract)'")
    #expect(untar.status == 0, "\(untar.stderr)")
    let sums = try TestSupport.shell("sha256sum -c --strict SHA256SUMS", directory: extract)
    #expect(sums.status == 0, "\(sums.stdout) \(sums.stderr)")
    #expect(sums.stdout.contains("app.db: OK"))

    let manifestData = try Data(contentsOf: URL(fileURLWithPath: extract + "/manifest.json"))
    let manifest = try JSONSerialization.jsonObject(with: manifestData) as? [String: Any]
    let sources = manifest?["sources"] as? [[String: Any]] ?? []
    let database = sources.first { $0["kind"] as? String == "database" }?["database"] as? [String: Any]
    #expect(database?["page_size"] as? Int == 4096)
    #expect((database?["page_count"] as? Int ?? 0) > 100)
    #expect(database?["journal_mode"] as? String == "wal")

    // The manifest object sits beside the archive, and is the last thing written.
    let objects = try FileManager.default.contentsOfDirectory(atPath: repo + "/backups").sorted()
    #expect(objects.count == 2)
    #expect(objects.contains { $0.hasSuffix(".manifest.json") })
    var info = stat()
    stat(repo + "/backups/" + objects[0], &info)
    #expect(info.st_mode & 0o777 == 0o600)
    stat(repo, &info)
    #expect(info.st_mode & 0o777 == 0o700)
  }

  @Test func backupWithWriterRunning() throws {
    let work = try TemporaryDirectory("writer")
    let corpus = work.join("corpus")
    try TestSupport.makeCorpus(corpus)
    let database = corpus + "/app.db"
    // The writer commits transactions that each insert a batch of 10 rows tagged with the
    // batch number, so a consistent copy holds only whole batches.
    let writerScript = """
      import sqlite3, sys, time
      db = sqlite3.connect(sys.argv[1], timeout=30, isolation_level=None)
      db.execute("PRAGMA journal_mode=WAL")
      db.execute("CREATE TABLE IF NOT EXISTS batches (batch INTEGER, item INTEGER)")
      end = time.time() + float(sys.argv[2])
      batch = 0
      while time.time() < end:
          db.execute("BEGIN IMMEDIATE")
          for item in range(10):
              db.execute("INSERT INTO batches VALUES (?, ?)", (batch, item))
          db.execute("COMMIT")
          batch += 1
      print(batch)
      """
    try writerScript.write(toFile: work.join("writer.py"), atomically: true, encoding: .utf8)
    try TestSupport.shell("sqlite3 '\(database)' 'CREATE TABLE batches (batch INTEGER, item INTEGER)'")
    let writer = Process()
    writer.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    writer.arguments = ["python3", work.join("writer.py"), database, "4"]
    writer.standardOutput = Pipe()
    try writer.run()
    defer {
      if writer.isRunning { writer.terminate() }
    }
    usleep(500_000)

    let repo = "file://" + work.join("repo")
    let backup = try TestSupport.lifeboat(["backup", "--db", database, "--repo", repo])
    #expect(backup.status == 0, "\(backup.stderr)")
    writer.waitUntilExit()

    let target = work.join("restored")
    let restore = try TestSupport.lifeboat(["restore", "latest", "--target", target, "--repo", repo])
    #expect(restore.status == 0, "\(restore.stderr)")
    let restored = target + "/app.db"
    let integrity = try TestSupport.shell("sqlite3 '\(restored)' 'PRAGMA integrity_check'")
    #expect(integrity.stdout == "ok\n")
    let partial = try TestSupport.shell(
      "sqlite3 '\(restored)' 'SELECT count(*) FROM (SELECT batch FROM batches GROUP BY batch HAVING count(*) != 10)'")
    #expect(partial.stdout == "0\n")
    let rows = try TestSupport.shell("sqlite3 '\(restored)' 'SELECT count(*) FROM batches'")
    #expect((Int(rows.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0) > 0)
  }

  @Test func sameSecondBackupsGetDistinctIDs() throws {
    let work = try TemporaryDirectory("sameid")
    try TestSupport.shell("mkdir -p '\(work.path)/config' && echo a > '\(work.path)/config/a'")
    let repo = "file://" + work.join("repo")
    var ids: [String] = []
    for _ in 0..<3 {
      let backup = try TestSupport.lifeboat(["backup", "--path", work.join("config"), "--repo", repo, "--host", "web1", "--json"])
      #expect(backup.status == 0, "\(backup.stderr)")
      let summary = try JSONSerialization.jsonObject(with: Data(backup.stdout.utf8)) as? [String: Any]
      ids.append(summary?["id"] as? String ?? "")
    }
    #expect(Set(ids).count == 3)
    #expect(ids == ids.sorted())
    for id in ids {
      #expect(id.range(of: #"^\d{8}T\d{6}Z-web1(-\d+)?$"#, options: .regularExpression) != nil)
    }
    let list = try TestSupport.lifeboat(["list", "--repo", repo, "--json"])
    let items = try JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as? [[String: Any]]
    #expect(items?.compactMap { $0["id"] as? String } == ids)
  }

  @Test func jsonLogsParseLineByLine() throws {
    let work = try TemporaryDirectory("jsonlogs")
    let corpus = work.join("corpus")
    try TestSupport.makeCorpus(corpus)
    let logFile = work.join("lifeboat.log")
    let common = ["--log-format", "json", "--log-level", "debug", "--log-file", logFile]
    let good = try TestSupport.lifeboat(
      ["backup", "--db", corpus + "/app.db", "--path", corpus + "/config", "--repo", "file://" + work.join("repo")] + common)
    #expect(good.status == 0, "\(good.stderr)")
    let bad = try TestSupport.lifeboat(["backup", "--db", work.join("missing.db"), "--repo", "file://" + work.join("repo")] + common)
    #expect(bad.status == 1)

    let fileLines = try String(contentsOfFile: logFile, encoding: .utf8).split(separator: "\n")
    let lines = good.stderr.split(separator: "\n") + bad.stderr.split(separator: "\n") + fileLines
    #expect(lines.count > 5)
    for line in lines {
      let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
      #expect(object != nil, "not a JSON object: \(line)")
      #expect(object?["ts"] is String, "\(line)")
      #expect(object?["level"] is String, "\(line)")
      #expect(object?["msg"] is String, "\(line)")
    }
    let errorLines = fileLines.filter { $0.contains("\"level\":\"error\"") }
    #expect(!errorLines.isEmpty)
    #expect(errorLines.contains { $0.contains("missing.db") })
  }
}

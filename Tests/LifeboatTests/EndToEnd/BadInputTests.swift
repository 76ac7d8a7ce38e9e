import Foundation
import Testing

/// Every bad input gets a one-line error, the documented exit status, and writes nothing.
@Suite struct BadInputTests {
  @Test func missingDatabase() throws {
    let work = try TemporaryDirectory("baddb")
    let result = try TestSupport.lifeboat([
      "backup", "--db", work.join("nope.db"), "--repo", "file://" + work.join("repo"),
    ])
    #expect(result.status == 1)
    #expect(result.stderr.contains("database \(work.join("nope.db")) not found"))
    #expect(!FileManager.default.fileExists(atPath: work.join("repo")))
  }

  @Test func fileThatIsNotADatabase() throws {
    let work = try TemporaryDirectory("notadb")
    try "just some text, not SQLite\n".write(toFile: work.join("text.db"), atomically: true, encoding: .utf8)
    let result = try TestSupport.lifeboat([
      "backup", "--db", work.join("text.db"), "--repo", "file://" + work.join("repo"),
    ])
    #expect(result.status == 1)
    #expect(result.stderr.contains("is not a SQLite database"))
    #expect(!FileManager.default.fileExists(atPath: work.join("repo")))
  }

  @Test func missingSourceDirectory() throws {
    let work = try TemporaryDirectory("nosource")
    let result = try TestSupport.lifeboat([
      "backup", "--path", work.join("config"), "--repo", "file://" + work.join("repo"),
    ])
    #expect(result.status == 1)
    #expect(result.stderr.contains("source directory \(work.join("config")) not found"))
    #expect(!FileManager.default.fileExists(atPath: work.join("repo")))
  }

  @Test func missingSourceNamedByConfigLine() throws {
    let work = try TemporaryDirectory("confsource")
    let config = work.join("lifeboat.conf")
    try """
      # sources of the application
      [source]
      path = \(work.join("missing-logs"))

      [repository]
      url = file://\(work.join("repo"))
      """.write(toFile: config, atomically: true, encoding: .utf8)
    let result = try TestSupport.lifeboat(["backup", "--config", config])
    #expect(result.status == 1)
    #expect(result.stderr.contains("\(config):3:"))
  }

  @Test func unknownConfigKey() throws {
    let work = try TemporaryDirectory("badkey")
    let config = work.join("lifeboat.conf")
    try "[backup]\ncompresion = gzip\n".write(toFile: config, atomically: true, encoding: .utf8)
    let result = try TestSupport.lifeboat(["backup", "--config", config, "--path", work.path])
    #expect(result.status == 78)
    #expect(result.stderr.contains("\(config):2: unknown key 'compresion' in section [backup]"))
    #expect(result.stderr.contains("did you mean 'compression'"))
  }

  @Test func badConfigValue() throws {
    let work = try TemporaryDirectory("badvalue")
    let config = work.join("lifeboat.conf")
    try "[backup]\ncompression_level = fast\n".write(toFile: config, atomically: true, encoding: .utf8)
    let result = try TestSupport.lifeboat(["list", "--config", config, "--repo", "file:///tmp"])
    #expect(result.status == 78)
    #expect(result.stderr.contains("\(config):2: invalid value 'fast' for compression_level"))
  }

  @Test func environmentOverridesFileAndFlagsOverrideBoth() throws {
    let work = try TemporaryDirectory("precedence")
    let corpus = work.join("corpus")
    try TestSupport.makeCorpus(corpus)
    let config = work.join("lifeboat.conf")
    try "[repository]\nurl = file://\(work.join("from-file"))\n[source]\npath = \(corpus)/config\n"
      .write(toFile: config, atomically: true, encoding: .utf8)

    let fromEnvironment = try TestSupport.lifeboat(
      ["backup", "--config", config], environment: ["LIFEBOAT_REPOSITORY_URL": "file://" + work.join("from-env")])
    #expect(fromEnvironment.status == 0, "\(fromEnvironment.stderr)")
    #expect(FileManager.default.fileExists(atPath: work.join("from-env/backups")))
    #expect(!FileManager.default.fileExists(atPath: work.join("from-file")))

    let fromFlag = try TestSupport.lifeboat(
      ["backup", "--config", config, "--repo", "file://" + work.join("from-flag")],
      environment: ["LIFEBOAT_REPOSITORY_URL": "file://" + work.join("from-env")])
    #expect(fromFlag.status == 0, "\(fromFlag.stderr)")
    #expect(FileManager.default.fileExists(atPath: work.join("from-flag/backups")))
  }

  @Test func repositoryNotWritable() throws {
    let work = try TemporaryDirectory("norepo")
    try "x".write(toFile: work.join("a-file"), atomically: true, encoding: .utf8)
    try FileManager.default.createDirectory(atPath: work.join("config"), withIntermediateDirectories: true)
    let result = try TestSupport.lifeboat([
      "backup", "--path", work.join("config"), "--repo", "file://" + work.join("a-file/repo"),
    ])
    #expect(result.status == 69)
    #expect(result.stderr.contains("repository file://\(work.join("a-file/repo")) cannot be used"))
  }

  @Test func unknownBackupID() throws {
    let work = try TemporaryDirectory("noid")
    try TestSupport.shell("mkdir -p '\(work.join("config"))' && echo a > '\(work.join("config/a"))'")
    let repo = "file://" + work.join("repo")
    #expect(try TestSupport.lifeboat(["backup", "--path", work.join("config"), "--repo", repo]).status == 0)
    let result = try TestSupport.lifeboat([
      "restore", "20200101T000000Z-elsewhere", "--target", work.join("out"), "--repo", repo,
    ])
    #expect(result.status == 1)
    #expect(result.stderr.contains("backup 20200101T000000Z-elsewhere not found"))
    #expect(!FileManager.default.fileExists(atPath: work.join("out")))
  }

  @Test func flippedByteIsRefused() throws {
    let work = try TemporaryDirectory("flip")
    let corpus = work.join("corpus")
    try TestSupport.makeCorpus(corpus)
    let repo = work.join("repo")
    let backup = try TestSupport.lifeboat([
      "backup", "--db", corpus + "/app.db", "--path", corpus + "/config", "--repo", "file://" + repo,
    ])
    #expect(backup.status == 0, "\(backup.stderr)")
    let archive = try FileManager.default.contentsOfDirectory(atPath: repo + "/backups")
      .first { $0.hasSuffix(".tar.gz") }!
    let handle = try FileHandle(forUpdating: URL(fileURLWithPath: repo + "/backups/" + archive))
    let size = try handle.seekToEnd()
    try handle.seek(toOffset: size / 2)
    let byte = try handle.read(upToCount: 1)![0]
    try handle.seek(toOffset: size / 2)
    try handle.write(contentsOf: [byte ^ 0x01])
    try handle.close()

    let verify = try TestSupport.lifeboat(["verify", "--repo", "file://" + repo])
    #expect(verify.status == 65)
    #expect(verify.stdout.contains("FAILED"))
    #expect(verify.stdout.contains(archive))

    let target = work.join("out")
    let restore = try TestSupport.lifeboat(["restore", "latest", "--target", target, "--repo", "file://" + repo])
    #expect(restore.status == 65)
    #expect(restore.stderr.contains(archive))
    let leftovers = (try? FileManager.default.contentsOfDirectory(atPath: target)) ?? []
    #expect(leftovers.isEmpty)
  }

  @Test func usageErrorsExit64() throws {
    let unknown = try TestSupport.lifeboat(["backup", "--bogus"])
    #expect(unknown.status == 64)
    #expect(unknown.stderr.hasPrefix("error: unknown option '--bogus'\n"))
    #expect(unknown.stderr.contains("usage: lifeboat backup"))

    let missingValue = try TestSupport.lifeboat(["backup", "--db"])
    #expect(missingValue.status == 64)
    #expect(missingValue.stderr.contains("option '--db' needs a value"))

    let missingID = try TestSupport.lifeboat(["restore", "--target", "/tmp/x"])
    #expect(missingID.status == 64)
    #expect(missingID.stderr.contains("missing backup"))

    let noCommand = try TestSupport.lifeboat(["frobnicate"])
    #expect(noCommand.status == 64)
    #expect(noCommand.stderr.contains("unknown command 'frobnicate'"))
  }

  @Test(arguments: ["backup", "list", "restore", "verify", "version"])
  func helpForEveryCommand(_ command: String) throws {
    let result = try TestSupport.lifeboat([command, "--help"])
    #expect(result.status == 0)
    #expect(result.stdout.contains("usage: lifeboat \(command)"))
    #expect(result.stdout.contains("examples:"))
    let examples = result.stdout.components(separatedBy: "examples:\n").last ?? ""
    #expect(examples.split(separator: "\n").filter { $0.contains("lifeboat") }.count >= 2)
    let viaHelp = try TestSupport.lifeboat(["help", command])
    #expect(viaHelp.stdout == result.stdout)
  }
}

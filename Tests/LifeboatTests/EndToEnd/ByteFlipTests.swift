import Foundation
import Testing

/// Any single damaged byte of a stored archive is caught by deep verify and by restore.
@Suite struct ByteFlipTests {
  @Test func everyFlipDetected() throws {
    let work = try TemporaryDirectory("byteflip")
    let source = work.join("src")
    try FileManager.default.createDirectory(atPath: source + "/config", withIntermediateDirectories: true)
    try "a: 1\n".write(toFile: source + "/config/a.yaml", atomically: false, encoding: .utf8)
    try "b: 2\n".write(toFile: source + "/config/b.yaml", atomically: false, encoding: .utf8)
    let database = try TestSupport.shell(
      "sqlite3 '\(source)/app.db' 'PRAGMA journal_mode=WAL; CREATE TABLE t (x); INSERT INTO t VALUES (1), (2), (3);'")
    #expect(database.status == 0)
    let repository = "file://" + work.join("repo")
    let backup = try TestSupport.lifeboat(["backup", "--db", source + "/app.db", "--path", source + "/config", "--repo", repository])
    #expect(backup.status == 0, "\(backup.stderr)")

    let directory = work.join("repo/backups")
    let name = try #require(try FileManager.default.contentsOfDirectory(atPath: directory).first { $0.hasSuffix(".tar.gz") })
    let archive = directory + "/" + name
    let pristine = try Data(contentsOf: URL(fileURLWithPath: archive))
    #expect(pristine.count < 4096, "the backup should be small so the loop stays fast")

    var generator = SystemRandomNumberGenerator()
    for round in 0..<100 {
      let offset = Int.random(in: 0..<pristine.count, using: &generator)
      let mask = UInt8.random(in: 1...255, using: &generator)
      var damaged = pristine
      damaged[offset] ^= mask
      try damaged.write(to: URL(fileURLWithPath: archive))
      let detail = "round \(round): byte \(offset) of \(pristine.count) XOR \(mask)"

      let verify = try TestSupport.lifeboat(["verify", "--repo", repository])
      #expect(verify.status == 65, "verify missed \(detail): \(verify.stdout)")
      #expect(verify.stdout.hasPrefix("FAILED"), "\(detail)")

      let target = work.join("target")
      let restore = try TestSupport.lifeboat(["restore", "latest", "--target", target, "--repo", repository])
      #expect(restore.status == 65, "restore missed \(detail): \(restore.stderr)")
      // The failed restore removes the target it created; an existing one would stay empty.
      #expect(!FileManager.default.fileExists(atPath: target), "restore left \(target) for \(detail)")
    }

    try pristine.write(to: URL(fileURLWithPath: archive))
    let clean = try TestSupport.lifeboat(["verify", "--repo", repository])
    #expect(clean.status == 0, "\(clean.stdout)")
  }
}

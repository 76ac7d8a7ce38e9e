import Foundation
import Testing

/// Hostile and damaged archives, built with Python's tarfile and committed with a manifest that
/// matches them: each is rejected, nothing is written outside the target, and the target stays
/// empty.
@Suite struct HostileArchiveTests {
  static let cases = [
    "absolute", "dotdot", "symlink-escape", "hardlink-escape", "device", "dir-to-symlink",
    "truncated-gzip", "oversize-header", "manifest-mismatch",
  ]

  /// A repository with one forged backup, a directory the hostile members aim at, and the
  /// source tree an in-place restore would replace.
  struct Setup {
    let work: TemporaryDirectory
    let repository: String
    let outside: String
    let sources: String
    let id = "20260101T000000Z-forge"

    init(_ name: String) throws {
      work = try TemporaryDirectory("hostile")
      repository = work.join("repo")
      outside = work.join("outside")
      sources = work.join("src")
      try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
      try FileManager.default.createDirectory(atPath: sources + "/config", withIntermediateDirectories: true)
      try "do not touch\n".write(toFile: outside + "/secret.txt", atomically: false, encoding: .utf8)
      try "original\n".write(toFile: sources + "/config/app.yaml", atomically: false, encoding: .utf8)
      let forge = try TestSupport.run(
        "/usr/bin/env",
        ["python3", FakeApplication.fixtures + "/forge-backup.py", repository, name, "--id", id,
         "--source-root", sources, "--outside", outside])
      guard forge.status == 0 else { throw TestFailure("forge-backup.py \(name) failed: \(forge.stderr)") }
    }

    func outsideUntouched() throws -> Bool {
      let names = try FileManager.default.contentsOfDirectory(atPath: outside)
      let secret = try String(contentsOfFile: outside + "/secret.txt", encoding: .utf8)
      return names == ["secret.txt"] && secret == "do not touch\n"
    }
  }

  @Test(arguments: HostileArchiveTests.cases)
  func rejectedIntoTarget(_ name: String) throws {
    let setup = try Setup(name)
    for (index, extra) in [[], ["--allow-external-symlinks"]].enumerated() {
      let target = setup.work.join("target-\(index)")
      let result = try TestSupport.lifeboat(
        ["restore", setup.id, "--target", target, "--repo", "file://" + setup.repository] + extra)
      // A symlink out of the tree alone is a failure (1) that --allow-external-symlinks lifts;
      // the member written through it is then rejected as damage (65).
      let expected: Int32 = name == "symlink-escape" && extra.isEmpty ? 1 : 65
      #expect(result.status == expected, "\(name) \(extra): \(result.stderr)")
      #expect(result.stderr.contains("backup \(setup.id)"), "\(name): \(result.stderr)")
      // A manifest rejected before extraction leaves no target at all.
      let left = (try? FileManager.default.contentsOfDirectory(atPath: target)) ?? []
      #expect(left == [], "\(name) \(extra) left files in the target")
      #expect(try setup.outsideUntouched(), "\(name) \(extra) wrote outside the target")
    }
    let entries = try FileManager.default.contentsOfDirectory(atPath: setup.work.path).sorted()
    #expect(entries.filter { !$0.hasPrefix("target-") } == ["outside", "repo", "src"])
  }

  @Test(arguments: HostileArchiveTests.cases)
  func rejectedInPlace(_ name: String) throws {
    let setup = try Setup(name)
    let before = try StateDigest.of(setup.sources)
    let result = try TestSupport.lifeboat(["restore", setup.id, "--repo", "file://" + setup.repository])
    #expect(result.status == (name == "symlink-escape" ? 1 : 65), "\(name): \(result.stderr)")
    // A manifest naming a file outside every source is rejected when the backup is chosen,
    // before any step. Damage inside the archive fails while it is verified (step 2). Either
    // way nothing was moved.
    let expected = name == "absolute" ? "is not under any source" : "failed at step 2 (verify)"
    #expect(result.stderr.contains(expected), "\(name): \(result.stderr)")
    let after = try StateDigest.of(setup.sources)
    #expect(after == before, "\(name): \(StateDigest.differences(after, before))")
    #expect(try setup.outsideUntouched(), "\(name) wrote outside the sources")
  }

  @Test func benignForgeRestores() throws {
    let setup = try Setup("benign")
    let target = setup.work.join("target")
    let result = try TestSupport.lifeboat(["restore", setup.id, "--target", target, "--repo", "file://" + setup.repository])
    #expect(result.status == 0, "\(result.stderr)")
    #expect(try String(contentsOfFile: target + "/config/app.yaml", encoding: .utf8) == "name: forged\nport: 8080\n")
    #expect(try setup.outsideUntouched())
  }
}

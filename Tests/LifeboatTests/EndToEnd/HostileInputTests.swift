import Foundation
import Testing

@testable import Lifeboat

/// Inputs an attacker or a damaged repository can present beyond hostile tar members: edited
/// manifests, chains of symlinks, odd config files and trees that strain the walker.
@Suite struct HostileInputTests {
  /// Backs up a small tree and returns the repository path and the manifest object's path.
  private func backedUp(_ work: TemporaryDirectory) throws -> (repo: String, manifest: String) {
    try TestSupport.shell("mkdir -p '\(work.path)/src/app' && echo hello > '\(work.path)/src/app/a.txt'")
    let repo = work.join("repo")
    let backup = try TestSupport.lifeboat(["backup", "--path", work.join("src/app"), "--repo", "file://" + repo])
    guard backup.status == 0 else { throw TestFailure("backup failed: \(backup.stderr)") }
    let name = try FileManager.default.contentsOfDirectory(atPath: repo + "/backups").first { $0.hasSuffix(".manifest.json") }!
    return (repo, repo + "/backups/" + name)
  }

  private func editManifest(_ path: String, _ change: (inout [String: Any]) -> Void) throws {
    var object = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
    change(&object)
    try JSONSerialization.data(withJSONObject: object).write(to: URL(fileURLWithPath: path))
  }

  @Test func sourceNameWithDotDotRejected() throws {
    let work = try TemporaryDirectory("dotdotsource")
    let (repo, manifest) = try backedUp(work)
    try editManifest(manifest) { object in
      var sources = object["sources"] as! [[String: Any]]
      sources[0]["name"] = "../escaped"
      object["sources"] = sources
    }
    let target = work.join("parent/target")
    try FileManager.default.createDirectory(atPath: work.join("parent"), withIntermediateDirectories: true)
    let id = (manifest as NSString).lastPathComponent.replacingOccurrences(of: ".manifest.json", with: "")
    let restore = try TestSupport.lifeboat(["restore", id, "--target", target, "--repo", "file://" + repo])
    #expect(restore.status == 65, "\(restore.stderr)")
    // latest skips the damaged manifest with a warning, and there is nothing else to choose.
    let latest = try TestSupport.lifeboat(["restore", "latest", "--target", target, "--repo", "file://" + repo])
    #expect(latest.status != 0)
    #expect(latest.stderr.contains("skipped a backup whose manifest cannot be read"))
    #expect(restore.stderr.contains("source name '../escaped' is not a single file name"))
    #expect(try FileManager.default.contentsOfDirectory(atPath: work.join("parent")).allSatisfy { $0 == "target" })
    let verify = try TestSupport.lifeboat(["verify", "--repo", "file://" + repo])
    #expect(verify.status == 65)
  }

  @Test func archiveKeyOfAnotherBackupRejected() throws {
    let work = try TemporaryDirectory("stolenkey")
    let (repo, older) = try backedUp(work)
    let second = try TestSupport.lifeboat(["backup", "--path", work.join("src/app"), "--repo", "file://" + repo, "--json"])
    #expect(second.status == 0)
    let newID = (try JSONSerialization.jsonObject(with: Data(second.stdout.utf8)) as? [String: Any])?["id"] as? String ?? ""
    try editManifest(older) { object in
      var archive = object["archive"] as! [String: Any]
      archive["key"] = "backups/\(newID).tar.gz"
      object["archive"] = archive
    }
    // prune reads every manifest first; the damaged one stops it before anything is deleted.
    let prune = try TestSupport.lifeboat(["prune", "--keep-last", "1", "--repo", "file://" + repo])
    #expect(prune.status == 65, "\(prune.stderr)")
    #expect(FileManager.default.fileExists(atPath: repo + "/backups/\(newID).tar.gz"))
    let restore = try TestSupport.lifeboat(["restore", newID, "--target", work.join("out"), "--repo", "file://" + repo])
    #expect(restore.status == 0, "\(restore.stderr)")
  }

  @Test func symlinkChainOutsideRejected() throws {
    let work = try TemporaryDirectory("linkchain")
    let app = work.join("src/app")
    try TestSupport.shell("""
      set -e
      mkdir -p '\(app)/x1/x2/x3'
      ln -s ../../../.. '\(app)/x1/x2/x3/L'
      ln -s x1/x2/x3/L/../outside '\(app)/E'
      ln -s x1/x2 '\(app)/fine'
      """)
    let repo = "file://" + work.join("repo")
    #expect(try TestSupport.lifeboat(["backup", "--path", app, "--repo", repo]).status == 0)
    let target = work.join("target")
    let restore = try TestSupport.lifeboat(["restore", "latest", "--target", target, "--repo", repo])
    #expect(restore.status == 1, "\(restore.stderr)")
    #expect(restore.stderr.contains("'app/E' is a symlink to 'x1/x2/x3/L/../outside'"))
    #expect(restore.stderr.contains("--allow-external-symlinks"))
    #expect((try? FileManager.default.contentsOfDirectory(atPath: target)) ?? [] == [])
    let allowed = try TestSupport.lifeboat(
      ["restore", "latest", "--target", target, "--repo", repo, "--allow-external-symlinks"])
    #expect(allowed.status == 0, "\(allowed.stderr)")
  }

  @Test func crlfConfigAndSecretsNotEchoed() throws {
    let work = try TemporaryDirectory("crlf")
    try TestSupport.shell("mkdir -p '\(work.path)/config' && echo a > '\(work.path)/config/a'")
    let config = work.join("lifeboat.conf")
    try "[source]\r\npath = \(work.path)/config\r\n[repository]\r\nurl = file://\(work.path)/repo\r\n"
      .write(toFile: config, atomically: true, encoding: .utf8)
    let backup = try TestSupport.lifeboat(["backup", "--config", config])
    #expect(backup.status == 0, "\(backup.stderr)")

    let secretConfig = work.join("secret.conf")
    try "[s3]\r\nsecret_access_key TOPSECRETVALUE123\r\n".write(toFile: secretConfig, atomically: true, encoding: .utf8)
    let bad = try TestSupport.lifeboat(["list", "--config", secretConfig, "--repo", "file:///tmp"])
    #expect(bad.status == 78)
    #expect(bad.stderr.contains("\(secretConfig):2: invalid line"))
    #expect(!bad.stderr.contains("TOPSECRETVALUE123"))
  }

  @Test func deepTreeDoesNotCrash() throws {
    let work = try TemporaryDirectory("deep")
    let deep = (0..<1800).map { _ in "d" }.joined(separator: "/")
    try TestSupport.shell("mkdir -p '\(work.path)/t/\(deep)' && echo x > '\(work.path)/t/\(deep)/leaf'")
    let backup = try TestSupport.lifeboat(["backup", "--path", work.join("t"), "--repo", "file://" + work.join("repo")])
    #expect(backup.status == 0, "\(backup.stderr)")
  }

  @Test func emptyOrExcludedSourcesFail() throws {
    let work = try TemporaryDirectory("empty")
    try TestSupport.shell("mkdir -p '\(work.path)/config' && echo a > '\(work.path)/config/a'")
    let backup = try TestSupport.lifeboat([
      "backup", "--path", work.join("config"), "--exclude", "*", "--repo", "file://" + work.join("repo"),
    ])
    #expect(backup.status == 1)
    #expect(backup.stderr.contains("nothing to back up"))
    let list = try TestSupport.lifeboat(["list", "--repo", "file://" + work.join("repo")])
    #expect(list.stdout.contains("no backups"))
  }

  @Test func repositoryInsideSourceExcluded() throws {
    let work = try TemporaryDirectory("selfrepo")
    try TestSupport.shell("mkdir -p '\(work.path)/data' && echo a > '\(work.path)/data/a'")
    let repo = "file://" + work.join("data/repo")
    for _ in 0..<2 {
      #expect(try TestSupport.lifeboat(["backup", "--path", work.join("data"), "--repo", repo]).status == 0)
    }
    let manifest = try FieldInputs.storedManifest(repository: work.join("data/repo"))
    let paths = (manifest["files"] as? [[String: Any]] ?? []).compactMap { $0["path"] as? String }
    #expect(paths.sorted() == ["data", "data/a"])
  }

  @Test func counterSuffixSortsNumerically() {
    let ids = ["20261204T031500Z-web1-10", "20261204T031500Z-web1-2", "20261204T031500Z-web1", "20261204T031459Z-web1-11"]
    #expect(BackupID.sorted(ids) == [
      "20261204T031459Z-web1-11", "20261204T031500Z-web1", "20261204T031500Z-web1-2", "20261204T031500Z-web1-10",
    ])
  }

  @Test func symlinkToRootIsNotASource() throws {
    let work = try TemporaryDirectory("rootlink")
    try TestSupport.shell("ln -s / '\(work.path)/everything'")
    let backup = try TestSupport.lifeboat(["backup", "--path", work.join("everything"), "--repo", "file://" + work.join("repo")])
    #expect(backup.status == 78, "\(backup.stderr)")
    #expect(backup.stderr.contains("the root directory cannot be a source"))
  }

  @Test func failedRestoreRemovesTargetItCreated() throws {
    let work = try TemporaryDirectory("failedtarget")
    let (repo, archiveManifest) = try backedUp(work)
    let archive = archiveManifest.replacingOccurrences(of: ".manifest.json", with: ".tar.gz")
    try TestSupport.shell("printf 'x' | dd of='\(archive)' bs=1 seek=100 conv=notrunc 2>/dev/null")
    let target = work.join("new-target")
    let restore = try TestSupport.lifeboat(["restore", "latest", "--target", target, "--repo", "file://" + repo])
    #expect(restore.status == 65, "\(restore.stderr)")
    #expect(!FileManager.default.fileExists(atPath: target))
  }
}

import Foundation
import Testing

@testable import Lifeboat

/// Fault injection for drills: the plan, repeatable choices, and what backups do under faults.
@Suite struct FaultInjectionTests {
  @Test func planParsesRatesAndSeed() throws {
    let plan = try FaultPlan.parse("put:0.1, get:0.05,read:0.01,seed:42", source: "test")
    #expect(plan.rates[.put] == 0.1)
    #expect(plan.rates[.get] == 0.05)
    #expect(plan.rates[.read] == 0.01)
    #expect(plan.seed == 42)
    #expect(plan.isActive)
    #expect(plan.summary == "put 10%, get 5%, read 1%, seed 42")
    #expect(try !FaultPlan.parse("put:0", source: "test").isActive)
  }

  @Test(arguments: ["put", "put:2", "write:0.1", "get:-1", "seed:x", "get:half"])
  func planRejectsBadInput(_ text: String) {
    #expect(throws: LifeboatError.self) { try FaultPlan.parse(text, source: "test") }
  }

  @Test func sameSeedSameFaults() {
    let first = FaultInjector(plan: FaultPlan(rates: [.put: 0.5], seed: 9))
    let second = FaultInjector(plan: FaultPlan(rates: [.put: 0.5, .get: 0.5], seed: 9))
    var firstDraws: [Bool] = []
    var secondDraws: [Bool] = []
    for _ in 0..<64 {
      firstDraws.append(first.shouldFail(.put))
      _ = second.shouldFail(.get)
      secondDraws.append(second.shouldFail(.put))
    }
    #expect(firstDraws == secondDraws)
    #expect(firstDraws.contains(true))
    #expect(firstDraws.contains(false))
    #expect(!first.shouldFail(.delete))
  }

  @Test func readFaultsMakeBackupPartial() throws {
    let work = try TemporaryDirectory("readfaults")
    let tree = try SmallTree.make(work.join("tree"), count: 40)
    let repo = "file://" + work.join("repo")
    let backup = try TestSupport.lifeboat(
      ["backup", "--path", tree, "--repo", repo, "--json"],
      environment: ["LIFEBOAT_FAULTS": "read:0.3,seed:7"])

    #expect(backup.status == 2, "\(backup.stderr)")
    #expect(backup.stderr.contains("fault injection is on: calls fail on purpose (read 30%, seed 7)"))
    let summary = try JSONSerialization.jsonObject(with: Data(backup.stdout.utf8)) as? [String: Any]
    #expect(summary?["status"] as? String == "partial")
    let warnings = summary?["warnings"] as? [[String: String]] ?? []
    #expect(!warnings.isEmpty)
    #expect((summary?["files"] as? Int ?? 0) == 40 - warnings.count)
    for warning in warnings {
      #expect(warning["message"]?.contains("Input/output error") == true, "\(warning)")
      let path = warning["path"] ?? ""
      #expect(path.hasPrefix(tree + "/"))
      #expect(FileManager.default.fileExists(atPath: path))
      #expect(backup.stderr.contains(path))
    }

    // What was stored is intact: the skipped files are simply not in the backup.
    let verify = try TestSupport.lifeboat(["verify", "--repo", repo])
    #expect(verify.status == 0, "\(verify.stdout) \(verify.stderr)")
  }

  @Test func putFaultsLeaveNoBackup() throws {
    let work = try TemporaryDirectory("putfaults")
    let tree = try SmallTree.make(work.join("tree"))
    let repo = "file://" + work.join("repo")
    let backup = try TestSupport.lifeboat(
      ["backup", "--path", tree, "--repo", repo], environment: ["LIFEBOAT_FAULTS": "put:1"])

    #expect(backup.status == 69)
    #expect(backup.stderr.contains("injected fault"))
    #expect(backup.stdout.isEmpty)
    let list = try TestSupport.lifeboat(["list", "--repo", repo, "--json"])
    #expect(list.status == 0)
    #expect(list.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "[]")
  }

  @Test func manifestPutFaultLeavesNoListedBackup() throws {
    // The first seed whose put faults spare the lock object and the archive, then hit the
    // manifest: the three puts of a backup, in order.
    let seed = try #require(FaultSeeds.first(.put, outcomes: [false, false, true]))
    let work = try TemporaryDirectory("manifestfault")
    let tree = try SmallTree.make(work.join("tree"))
    let repo = work.join("repo")
    let backup = try TestSupport.lifeboat(
      ["backup", "--path", tree, "--repo", "file://" + repo],
      environment: ["LIFEBOAT_FAULTS": "put:0.5,seed:\(seed)"])

    #expect(backup.status == 69)
    #expect(backup.stderr.contains("injected fault (put backups/"))
    #expect(backup.stderr.contains(".manifest.json)"))
    // The archive was stored: it is debris without its manifest, never a listed backup.
    let objects = try FileManager.default.contentsOfDirectory(atPath: repo + "/backups")
    #expect(objects.contains { $0.hasSuffix(".tar.gz") })
    #expect(!objects.contains { $0.hasSuffix(".manifest.json") })
    let list = try TestSupport.lifeboat(["list", "--repo", "file://" + repo, "--json"])
    #expect(list.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "[]")
  }

  @Test func invalidFaultSettingIsConfigurationError() throws {
    let work = try TemporaryDirectory("badfaults")
    let result = try TestSupport.lifeboat(
      ["list", "--repo", "file://" + work.path], environment: ["LIFEBOAT_FAULTS": "put:lots"])
    #expect(result.status == 78)
    #expect(result.stderr.contains("environment variable LIFEBOAT_FAULTS: invalid fault rate 'lots'"))
  }
}

import Foundation
import Testing

/// `lifeboat health`: each check's verdict and the exit status 0, 1 or 2.
@Suite struct HealthCommandTests {
  /// Runs `lifeboat health --json` and returns its exit status and checks by name.
  private func health(_ arguments: [String], environment: [String: String] = [:]) throws
    -> (status: Int32, overall: String, checks: [String: (status: String, reason: String)])
  {
    let result = try TestSupport.lifeboat(["health", "--json"] + arguments, environment: environment)
    let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
    var checks: [String: (String, String)] = [:]
    for check in object?["checks"] as? [[String: String]] ?? [] {
      checks[check["name"] ?? ""] = (check["status"] ?? "", check["reason"] ?? "")
    }
    return (result.status, object?["status"] as? String ?? "", checks)
  }

  private func backedUpRepository(_ work: TemporaryDirectory) throws -> String {
    let tree = try SmallTree.make(work.join("tree"))
    let repo = "file://" + work.join("repo")
    let backup = try TestSupport.lifeboat(["backup", "--path", tree, "--repo", repo])
    #expect(backup.status == 0, "\(backup.stderr)")
    return repo
  }

  @Test func healthyAfterBackup() throws {
    let work = try TemporaryDirectory("healthy")
    let repo = try backedUpRepository(work)
    let result = try health(["--repo", repo, "--max-age", "1h", "--spool-dir", work.path])
    #expect(result.status == 0)
    #expect(result.overall == "healthy")
    #expect(Set(result.checks.keys) == ["storage", "backup_age", "lock", "spool_space", "breaker"])
    for (name, check) in result.checks {
      #expect(check.status == "healthy", "\(name): \(check.reason)")
    }
    #expect(result.checks["backup_age"]?.reason.contains("(max_age 1h)") == true)
    #expect(result.checks["lock"]?.reason.contains("not checked") == true)

    let text = try TestSupport.lifeboat(["health", "--repo", repo])
    #expect(text.status == 0)
    #expect(text.stdout.hasSuffix("overall      healthy\n"))
  }

  @Test func degradedWhenSpoolSpaceLow() throws {
    let work = try TemporaryDirectory("lowspace")
    let repo = try backedUpRepository(work)
    let result = try health(
      ["--repo", repo, "--spool-dir", work.path], environment: ["LIFEBOAT_HEALTH_MIN_FREE_SPACE": "1000000TiB"])
    #expect(result.status == 1)
    #expect(result.overall == "degraded")
    #expect(result.checks["spool_space"]?.status == "degraded")
    #expect(result.checks["spool_space"]?.reason.contains("less than min_free_space") == true)
  }

  @Test func degradedWhenNewerBackupDamaged() throws {
    let work = try TemporaryDirectory("damaged")
    let repo = try backedUpRepository(work)
    let second = try TestSupport.lifeboat(["backup", "--path", work.join("tree"), "--repo", repo, "--json"])
    let summary = try JSONSerialization.jsonObject(with: Data(second.stdout.utf8)) as? [String: Any]
    let archive = work.join("repo/") + (summary?["archive"] as? String ?? "missing")
    let truncate = try TestSupport.shell("truncate -s 10 '\(archive)'")
    #expect(truncate.status == 0)

    let result = try health(["--repo", repo, "--spool-dir", work.path])
    #expect(result.status == 1)
    #expect(result.checks["backup_age"]?.status == "degraded")
    #expect(result.checks["backup_age"]?.reason.contains("has 10 bytes, the manifest says") == true)
  }

  @Test func lockHeldLongIsDegraded() throws {
    let work = try TemporaryDirectory("lockheld")
    let repo = try backedUpRepository(work)
    let lock = work.join("lifeboat.lock")
    try "".write(toFile: lock, atomically: false, encoding: .utf8)
    let environment = ["LIFEBOAT_HEALTH_LOCK_FILE": lock]
    let arguments = ["--repo", repo, "--spool-dir", work.path]

    let free = try health(arguments, environment: environment)
    #expect(free.status == 0)
    #expect(free.checks["lock"]?.reason == "\(lock) is not held")

    // A process that holds the lock, as `flock -n FILE lifeboat backup` would.
    let holder = Process()
    holder.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    holder.arguments = [
      "python3", "-c",
      "import fcntl, sys, time; f = open(sys.argv[1], 'a'); fcntl.flock(f, fcntl.LOCK_EX); print('locked', flush=True); time.sleep(20)",
      lock,
    ]
    let ready = Pipe()
    holder.standardOutput = ready
    try holder.run()
    defer {
      // SIGKILL: the test runner may start children with SIGTERM blocked.
      kill(holder.processIdentifier, SIGKILL)
      holder.waitUntilExit()
    }
    let line = String(decoding: ready.fileHandleForReading.availableData, as: UTF8.self)
    #expect(line.hasPrefix("locked"))

    let running = try health(arguments + ["--max-age", "1h"], environment: environment)
    #expect(running.status == 0)
    #expect(running.checks["lock"]?.status == "healthy")
    #expect(running.checks["lock"]?.reason.contains("is held by pid \(holder.processIdentifier)") == true)
    #expect(running.checks["lock"]?.reason.contains("a run is in progress") == true)

    // The holder started before this check, so it has run for longer than 0 s.
    let hung = try health(arguments + ["--max-age", "0s"], environment: environment)
    #expect(hung.status == 2)
    #expect(hung.checks["lock"]?.status == "degraded")
    #expect(hung.checks["lock"]?.reason.contains("a run may be hung") == true)
  }

  @Test func unhealthyWhenBackupTooOld() throws {
    let work = try TemporaryDirectory("tooold")
    let repo = try backedUpRepository(work)
    // The backup's id has whole seconds, so it is always older than 0 s by the time health runs.
    let result = try health(["--repo", repo, "--max-age", "0s", "--spool-dir", work.path])
    #expect(result.status == 2)
    #expect(result.overall == "unhealthy")
    #expect(result.checks["backup_age"]?.status == "unhealthy")
    #expect(result.checks["backup_age"]?.reason.contains("more than max_age 0s") == true)
    #expect(result.checks["storage"]?.status == "healthy")
  }

  @Test func unhealthyWhenRepositoryEmpty() throws {
    let work = try TemporaryDirectory("emptyrepo")
    try FileManager.default.createDirectory(atPath: work.join("repo"), withIntermediateDirectories: true)
    let result = try health(["--repo", "file://" + work.join("repo"), "--spool-dir", work.path])
    #expect(result.status == 2)
    #expect(result.checks["backup_age"]?.reason == "no backups in file://\(work.join("repo"))")
  }

  @Test func unhealthyWhenStorageMissing() throws {
    let work = try TemporaryDirectory("norepo")
    let result = try health(["--repo", "file://" + work.join("absent"), "--spool-dir", work.path])
    #expect(result.status == 2)
    #expect(result.checks["storage"]?.status == "unhealthy")
    #expect(result.checks["storage"]?.reason.contains("cannot be used") == true)
    #expect(result.checks["backup_age"]?.status == "unhealthy")
    #expect(result.checks["spool_space"]?.status == "healthy")
  }
}

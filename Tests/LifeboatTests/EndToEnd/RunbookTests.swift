import Foundation
import Lifeboat
import Testing

/// The shell blocks of one runbook, grouped by the test that runs them.
///
/// A fenced ```sh block is preceded by one marker comment:
/// - `<!-- test -->` runs it in the group "main";
/// - `<!-- test: GROUP [GROUP...] -->` runs it in each named group; groups ending in `-s3` run
///   only when `AWS_ENDPOINT_URL` is set;
/// - `<!-- test: settings -->` marks the names an operator adapts; the test sets its own values;
/// - `<!-- untested: REASON -->` leaves it out, with the reason.
/// Each group runs as one bash script, blocks in document order, on a fresh application.
struct Runbook {
  struct Block {
    var line: Int
    var markers: [String]
    var code: String
  }

  let name: String
  let blocks: [Block]
  /// Shell blocks without a marker, by line.
  let unmarked: [Int]

  static let directory = TestSupport.packageRoot + "/runbooks"
  /// Runbooks whose commands another suite runs, against inputs this one does not build.
  static let testedElsewhere: Set<String> = ["decrypt-by-hand.md"]  // DecryptRunbookTests

  static func all() -> [Runbook] {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
    let own = names.filter { $0.hasSuffix(".md") && $0 != "README.md" && !testedElsewhere.contains($0) }
    return own.sorted().compactMap {
      try? Runbook(name: $0)
    }
  }

  init(name: String) throws {
    self.name = name
    let text = try String(contentsOfFile: Runbook.directory + "/" + name, encoding: .utf8)
    let lines = text.components(separatedBy: "\n")
    var blocks: [Block] = []
    var unmarked: [Int] = []
    var pendingMarker: [String]?
    var index = 0
    while index < lines.count {
      let line = lines[index].trimmingCharacters(in: .whitespaces)
      if line.hasPrefix("<!-- test") && line.hasSuffix("-->") {
        let body = line.dropFirst("<!-- test".count).dropLast("-->".count).trimmingCharacters(in: .whitespaces)
        let words = body.hasPrefix(":") ? body.dropFirst().split(separator: " ").map(String.init) : ["main"]
        pendingMarker = words
      } else if line.hasPrefix("<!-- untested:") {
        pendingMarker = []
      } else if line == "```sh" {
        let start = index + 1
        var end = start
        while end < lines.count && lines[end].trimmingCharacters(in: .whitespaces) != "```" { end += 1 }
        let code = lines[start..<end].joined(separator: "\n")
        if let markers = pendingMarker {
          if !markers.isEmpty { blocks.append(Block(line: start, markers: markers, code: code)) }
        } else {
          unmarked.append(start)
        }
        pendingMarker = nil
        index = end
      } else if !line.isEmpty {
        pendingMarker = nil
      }
      index += 1
    }
    self.blocks = blocks
    self.unmarked = unmarked
  }

  var groups: [String] {
    var seen: [String] = []
    for block in blocks where block.markers != ["settings"] {
      for group in block.markers where !seen.contains(group) { seen.append(group) }
    }
    return seen
  }

  /// The variable names the settings blocks assign.
  var settingNames: Set<String> {
    var names = Set<String>()
    for block in blocks where block.markers == ["settings"] {
      for line in block.code.split(separator: "\n") {
        var text = line.trimmingCharacters(in: .whitespaces)
        if text.hasPrefix("export ") { text = String(text.dropFirst("export ".count)) }
        if let equals = text.firstIndex(of: "="), !text.hasPrefix("#") {
          names.insert(String(text[..<equals]))
        }
      }
    }
    return names
  }

  func script(group: String, settings: [String: String]) -> String {
    var text = "set -euo pipefail\n"
    for (name, value) in settings.sorted(by: { $0.key < $1.key }) {
      text += "export \(name)='\(value.replacingOccurrences(of: "'", with: "'\\''"))'\n"
    }
    for block in blocks where block.markers.contains(group) {
      text += "echo '--- \(name) line \(block.line)' >&2\n\(block.code)\n"
    }
    return text
  }
}

/// One runbook group to run.
struct RunbookCase: CustomStringConvertible, Sendable {
  var file: String
  var group: String
  var description: String { "\(file) \(group)" }

  static let all: [RunbookCase] = Runbook.all().flatMap { runbook in
    runbook.groups.map { RunbookCase(file: runbook.name, group: $0) }
  }
}

/// Runs the documented commands of every runbook against a generated application, so that the
/// runbooks cannot go stale.
@Suite struct RunbookTests {
  /// The names the tests give values to; a settings block may use only these.
  static let providedSettings: Set<String> = [
    "LIFEBOAT_CONFIG", "INCIDENT_TIME", "APP_DIRS", "SCRATCH", "APP_CONFIG_DIR", "OLD_HOST",
    "REPO_DIR", "S3_BUCKET", "S3_PREFIX", "DB_NAME",
  ]

  static var s3Available: Bool { ProcessInfo.processInfo.environment["AWS_ENDPOINT_URL"] != nil }

  @Test func everyBlockMarked() throws {
    let runbooks = Runbook.all()
    #expect(runbooks.count >= 5)
    for runbook in runbooks {
      #expect(runbook.unmarked.isEmpty, "\(runbook.name): sh blocks without a marker at lines \(runbook.unmarked)")
      #expect(!runbook.groups.isEmpty, "\(runbook.name) has no tested block")
      let unknown = runbook.settingNames.subtracting(RunbookTests.providedSettings)
      #expect(unknown.isEmpty, "\(runbook.name) uses settings the tests do not set: \(unknown.sorted())")
    }
  }

  @Test(arguments: RunbookCase.all)
  func commandsWork(_ runbookCase: RunbookCase) throws {
    if runbookCase.group.hasSuffix("-s3") && !RunbookTests.s3Available { return }
    let runbook = try Runbook(name: runbookCase.file)
    let scenario = try InPlaceScenario("runbook")
    let scratch = scenario.work.join("scratch")
    try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)

    let hostGone = runbookCase.file == "new-host.md"
    if hostGone {
      scenario.application.kill()
      usleep(200_000)
      try FileManager.default.removeItem(atPath: scenario.app)
    }
    var settings = try RunbookTests.settings(scenario, scratch: scratch)
    if runbookCase.group.hasSuffix("-s3") {
      try RunbookTests.uploadToS3(scenario, settings: &settings)
    }

    let script = runbook.script(group: runbookCase.group, settings: settings)
    let binaries = (TestSupport.lifeboatBinary as NSString).deletingLastPathComponent
    let path = binaries + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
    let result = try TestSupport.run(
      "/bin/bash", ["-c", script], environment: TestSupport.cleanEnvironment(["PATH": path]), directory: scenario.work.path)
    #expect(result.status == 0, "\(runbookCase): \(result.stderr.suffix(3000))")
    guard result.status == 0 else { return }
    let expectedBlocks = runbook.blocks.filter { $0.markers.contains(runbookCase.group) }.count
    let ranBlocks = result.stderr.components(separatedBy: "--- \(runbookCase.file) line").count - 1
    #expect(ranBlocks == expectedBlocks)
    #expect(ranBlocks > 0)

    try check(runbookCase, scenario: scenario, scratch: scratch, output: result.stdout)
  }

  @Test func exitTableMatchesHelp() throws {
    let text = try String(contentsOfFile: Runbook.directory + "/exit-codes.md", encoding: .utf8)
    let documented = Set(text.split(separator: "\n").compactMap { line -> Int? in
      let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
      return cells.first.flatMap { Int($0) }
    })
    let help = try TestSupport.lifeboat(["help"])
    let section = help.stdout.components(separatedBy: "exit status:").last ?? ""
    let listed = Set(section.split(separator: "\n").compactMap { line in
      Int(line.trimmingCharacters(in: .whitespaces).split(separator: " ").first ?? "")
    })
    #expect(!documented.isEmpty)
    #expect(documented == listed, "runbooks/exit-codes.md lists \(documented.sorted()), lifeboat help \(listed.sorted())")
  }

  // MARK: Setup and checks

  static func settings(_ scenario: InPlaceScenario, scratch: String) throws -> [String: String] {
    let list = try TestSupport.lifeboat(["list", "--config", scenario.config, "--json"])
    let items = try JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as? [[String: Any]] ?? []
    let host = items.first?["host"] as? String ?? ""
    return [
      "LIFEBOAT_CONFIG": scenario.config,
      // A minute from now, so the backup taken a moment ago is the newest before it.
      "INCIDENT_TIME": TimeArgument.format(Date().addingTimeInterval(60)).replacingOccurrences(of: " UTC", with: ""),
      "APP_DIRS": scenario.app,
      "SCRATCH": scratch,
      "APP_CONFIG_DIR": scenario.app + "/config",
      "OLD_HOST": host,
      "REPO_DIR": scenario.repository,
      "DB_NAME": "app.db",
      "S3_BUCKET": ProcessInfo.processInfo.environment["LIFEBOAT_TEST_BUCKET"] ?? "lifeboat-runbooks",
      "S3_PREFIX": "runbook-\(getpid())-\(UInt32.random(in: 0...UInt32.max))",
    ]
  }

  /// Copies the file repository's objects to S3 with curl, as the by-hand runbook reads them.
  ///
  /// NOTE: this path runs only with AWS_ENDPOINT_URL and credentials set, and has not been run
  /// against a real S3 service.
  static func uploadToS3(_ scenario: InPlaceScenario, settings: inout [String: String]) throws {
    let script = """
      set -euo pipefail
      endpoint="${AWS_ENDPOINT_URL}"
      put() {
        curl --fail --silent --show-error --aws-sigv4 "aws:amz:${AWS_REGION:-us-east-1}:s3" \
          --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
          -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" -X PUT "$@"
      }
      put "$endpoint/$S3_BUCKET" >/dev/null 2>&1 || true
      for file in "$REPO_DIR"/backups/*; do
        put -T "$file" "$endpoint/$S3_BUCKET/$S3_PREFIX/backups/$(basename "$file")" >/dev/null
      done
      """
    var environment = TestSupport.cleanEnvironment()
    environment.merge(settings) { _, new in new }
    let result = try TestSupport.run("/bin/bash", ["-c", script], environment: environment)
    guard result.status == 0 else { throw TestFailure("upload to S3 failed: \(result.stderr)") }
  }

  private func check(_ runbookCase: RunbookCase, scenario: InPlaceScenario, scratch: String, output: String) throws {
    let after = try scenario.digest().filter { $0.key != "app.db-wal" }
    let scratchEntries = try FileManager.default.contentsOfDirectory(atPath: scratch)
    switch (runbookCase.file, runbookCase.group) {
    case ("full-restore.md", "main"):
      #expect(after == scenario.backupDigest, "\(StateDigest.differences(after, scenario.backupDigest))")
      #expect(try scenario.leftovers().isEmpty, "the clean-up commands left rollback directories")
      #expect(scenario.application.calls == ["stop restore", "start restore"])
      #expect(scenario.application.becomesHealthy())
      #expect(output.contains("restore plan for backup"))

    case ("partial-restore.md", "main"):
      #expect(try InPlaceScenario.dump(scenario.app + "/app.db") == scenario.backupDump)
      #expect(after["config/app.yaml"] == scenario.backupDigest["config/app.yaml"])
      #expect(after["config/added.txt"] != nil, "only app.yaml was to be copied back")
      #expect(scratchEntries.isEmpty, "scratch still holds \(scratchEntries)")
      #expect(scenario.application.becomesHealthy())

    case ("new-host.md", "main"):
      #expect(after == scenario.backupDigest, "\(StateDigest.differences(after, scenario.backupDigest))")
      #expect(scenario.application.becomesHealthy())

    case ("new-host.md", "by-hand"), ("new-host.md", "by-hand-s3"):
      #expect(after == scenario.backupDigest, "\(StateDigest.differences(after, scenario.backupDigest))")
      #expect(scratchEntries.isEmpty, "scratch still holds \(scratchEntries)")

    case ("verify-backups.md", "main"):
      #expect(output.contains("ok     "))
      #expect(scratchEntries.isEmpty, "scratch still holds \(scratchEntries)")

    case ("exit-codes.md", "main"):
      #expect(output.contains("lifeboat exited with status 0"))

    default:
      Issue.record("\(runbookCase) has no end-state check; add one to RunbookTests.check")
    }
  }
}

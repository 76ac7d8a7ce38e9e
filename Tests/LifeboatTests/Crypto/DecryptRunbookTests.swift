import Foundation
import Testing

/// Runs the shell blocks of runbooks/decrypt-by-hand.md against a real encrypted backup, so
/// the runbook stays true.
struct DecryptRunbookTests {
  /// Joins the runbook's ```sh blocks in order, replacing the example values of the variables in
  /// `values` with the test's own.
  static func script(_ markdown: String, values: [String: String]) -> String {
    var lines: [String] = []
    var inBlock = false
    for line in markdown.split(separator: "\n", omittingEmptySubsequences: false) {
      if line.hasPrefix("```") {
        inBlock = line == "```sh"
        continue
      }
      guard inBlock else { continue }
      let name = String(line.prefix { $0 != "=" })
      if let value = values[name], line.hasPrefix(name + "=") {
        lines.append("\(name)='\(value)'")
      } else {
        lines.append(String(line))
      }
    }
    return lines.joined(separator: "\n")
  }

  @Test func runbookRestoresBackup() throws {
    let work = try TemporaryDirectory("runbook")
    let corpus = work.join("corpus")
    try TestSupport.makeCorpus(corpus, ["--size", "SMALL"])
    let keygen = try TestSupport.lifeboat(["keygen", "--output", work.join("key.txt")])
    #expect(keygen.status == 0, "\(keygen.stderr)")
    let recipient = keygen.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    let repo = work.join("repo")
    for _ in 0..<2 {
      let backup = try TestSupport.lifeboat([
        "backup", "--db", corpus + "/app.db", "--path", corpus + "/config", "--path", corpus + "/logs",
        "--repo", "file://" + repo, "--recipient", recipient,
      ])
      #expect(backup.status == 0, "\(backup.stderr)")
    }

    let markdown = try String(contentsOfFile: TestSupport.packageRoot + "/runbooks/decrypt-by-hand.md", encoding: .utf8)
    let target = work.join("restore")
    let script = Self.script(markdown, values: ["REPO": repo, "KEY": work.join("key.txt"), "TARGET": target])
    #expect(script.contains("age -d -i \"$KEY\""))
    try script.write(toFile: work.join("runbook.sh"), atomically: true, encoding: .utf8)

    let result = try TestSupport.run("/bin/bash", ["-eu", work.join("runbook.sh")], directory: work.path)
    #expect(result.status == 0, "\(result.stdout) \(result.stderr)")
    #expect(result.stdout.contains("all checksums OK"))
    #expect(result.stdout.hasSuffix("ok\n"))
    let newest = try FileManager.default.contentsOfDirectory(atPath: repo + "/backups")
      .filter { $0.hasSuffix(".manifest.json.age") }.sorted().last!
    #expect(result.stdout.contains("restoring backup \(newest.prefix { $0 != "." })"))
    for tree in ["config", "logs"] {
      let diff = try TestSupport.shell("diff -r --no-dereference '\(corpus)/\(tree)' '\(target)/\(tree)'")
      #expect(diff.status == 0, "\(diff.stdout)")
    }
  }
}

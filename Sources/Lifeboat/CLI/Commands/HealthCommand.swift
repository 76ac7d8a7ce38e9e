import Foundation

extension Command {
  static let health = Command(
    name: "health",
    summary: "Check that backups are being taken and can be: storage, backup age, lock, spool space.",
    usage: "lifeboat health [--max-age DURATION] [--json] [--repo URL] [options]",
    options: [
      OptionSpec("max-age", value: "DURATION", help: "newest complete backup may be this old (default 26h)"),
      OptionSpec("json", help: "print one JSON object with every check on stdout"),
      OptionSpec("spool-dir", value: "DIR", help: "spool directory whose free space is checked"),
    ] + CommonOptions.repository + CommonOptions.encryption + CommonOptions.logging,
    maxPositionals: 0,
    examples: [
      "lifeboat health --repo file:///srv/backups",
      "lifeboat health --config /etc/lifeboat/lifeboat.conf --max-age 26h --json",
    ],
    details: """
      Each check prints as healthy, degraded or unhealthy with its reason:
        storage      the repository can be listed
        backup_age   the newest valid complete backup is within max_age ([health] max_age)
        lock         the lock file ([health] lock_file) is not held longer than max_age
        spool_space  the spool directory has room for the database copies and min_free_space
        breaker      the store's circuit breaker, if it has one, is closed
      Exit status 0 when every check is healthy, 1 when the worst is degraded, 2 when one is
      unhealthy, as monitoring plugins expect; 64 and 78 for usage and configuration errors.
      """,
    run: runHealth)

  private static func runHealth(_ context: CommandContext) throws -> Int32 {
    let configuration = try context.configuration()
    _ = try context.repositoryURL()
    let plan = try makePlan(configuration)
    var check = HealthCheck(
      maxAge: try configuration.duration("health.max_age") ?? 26 * 3600,
      minFreeSpace: try configuration.size("health.min_free_space"),
      spoolDirectory: plan.spoolDirectory, databases: plan.databases,
      lockFile: configuration.string("health.lock_file"))
    check.now = Date()
    let results = check.run { try context.openRepository(create: false) }
    let overall = results.map(\.status).max() ?? .healthy

    if context.arguments.has("json") {
      let items = results.map {
        "{\"name\":\(JSONText.quote($0.name)),\"status\":\(JSONText.quote($0.status.rawValue)),\"reason\":\(JSONText.quote($0.reason))}"
      }
      context.print("{\"status\":\(JSONText.quote(overall.rawValue)),\"checks\":[\(items.joined(separator: ","))]}")
    } else if !context.arguments.has("quiet") {
      for result in results {
        context.print(pad(result.name, 13) + pad(result.status.rawValue, 11) + result.reason)
      }
      context.print(pad("overall", 13) + overall.rawValue)
    }
    for result in results where result.status != .healthy {
      context.logger.info("health check \(result.status.rawValue)", [
        ("check", .string(result.name)), ("reason", .string(result.reason)),
      ])
    }
    return overall.exitCode
  }

  private static func pad(_ text: String, _ width: Int) -> String {
    text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
  }
}

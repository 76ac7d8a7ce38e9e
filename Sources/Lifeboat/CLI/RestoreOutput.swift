import Foundation

/// The text and JSON that `lifeboat restore` prints for a plan and a report.
enum RestoreOutput {
  // MARK: Plan (--dry-run)

  static func planText(_ plan: RestorePlan) -> [String] {
    let manifest = plan.record.manifest
    let settings = plan.settings
    var lines = [
      "restore plan for backup \(plan.record.id) (host \(manifest.host), started \(manifest.startedAt), status \(manifest.status))",
      "",
      "steps:",
    ]
    func step(_ step: RestoreStep, _ text: String) {
      lines.append("  " + pad("\(step.rawValue) \(step.name)", 17) + text)
    }
    func more(_ text: String) {
      lines.append(String(repeating: " ", count: 19) + text)
    }

    step(.download, "\(manifest.archive?.key ?? "?") (\(formatBytes(plan.archiveBytes))) to \(plan.downloadPath)")
    for directory in plan.directoriesToCreate { more("create missing directory \(directory)") }
    let fileCount = manifest.files.filter { $0.type == "file" }.count
    step(.verify, "archive SHA-256 and \(fileCount) file checksums, extracted into")
    for directory in Array(Set(plan.items.map(\.stagingDirectory))).sorted() { more(directory) }
    step(.stop, settings.stopCommand.map { "run: \($0)" } ?? "skipped: no stop_command configured")

    let moves = plan.items.flatMap { item in item.existing.map { (item, $0) } }
    if moves.isEmpty {
      step(.moveAside, "nothing: no current files at the destinations")
    } else {
      step(.moveAside, "the current files:")
      for (item, existing) in moves {
        more("\(existing.path) (\(sizeText(existing))) -> \(item.savedPath(for: existing.path))")
      }
    }
    step(.putInPlace, "the restored sources:")
    for item in plan.items {
      more("\(item.name) (\(formatBytes(item.restoredBytes)), \(item.restoredEntries) entries) -> \(item.destination)")
    }
    let databases = plan.items.filter(\.isDatabase).map(\.destination)
    step(.checkDatabase, databases.isEmpty
      ? "skipped: no database among the restored sources"
      : "PRAGMA integrity_check and foreign_key_check on \(databases.joined(separator: ", "))")
    step(.start, settings.startCommand.map { "run: \($0)" } ?? "skipped: no start_command configured")
    var health: [String] = []
    if let command = settings.healthCommand { health.append("run: \(command)") }
    if let url = settings.healthURL { health.append("GET \(url)") }
    step(.healthCheck, health.isEmpty
      ? "skipped: no health_command or health_url configured"
      : health.joined(separator: " and ") + ", retried for up to \(Int(settings.healthTimeout)) s")
    lines.append("  if a step from 3 on fails: the previous files are put back and the start command runs again")

    lines.append("")
    lines.append("free space:")
    for check in plan.space {
      let verdict = check.isSufficient ? "ok" : "NOT ENOUGH"
      lines.append("  \(check.directory): \(formatBytes(check.required)) needed, \(formatBytes(check.available)) available: \(verdict)")
    }
    lines.append("")
    if plan.openFiles.holders.isEmpty {
      lines.append(databases.isEmpty ? "open database files: no database is restored" : "open database files: none")
    } else {
      let action = settings.stopCommand == nil ? "refused without a stop_command" : "step 3 must close them"
      lines.append("open database files (\(action)):")
      for holder in plan.openFiles.holders {
        lines.append("  PID \(holder.pid) (\(holder.command)) has \(holder.path) open")
      }
    }
    for note in plan.notes { lines.append("note: \(note)") }
    if !plan.blockers.isEmpty {
      lines.append("")
      lines.append("the restore would not start:")
      for blocker in plan.blockers {
        lines.append("  - \(blocker.message)")
        if let hint = blocker.hint { lines.append("    hint: \(hint)") }
      }
    }
    lines.append("")
    lines.append("dry run: nothing was changed")
    return lines
  }

  private static func sizeText(_ existing: RestorePlan.ExistingPath) -> String {
    existing.entries > 1 ? "\(formatBytes(existing.bytes)), \(existing.entries) entries" : formatBytes(existing.bytes)
  }

  // MARK: Report

  static func reportText(_ report: RestoreReport) -> [String] {
    var lines = ["in-place restore of backup \(report.id): \(report.outcome.rawValue.replacingOccurrences(of: "_", with: " "))"]
    for record in report.steps {
      let seconds = String(format: "%6.2f s", record.duration)
      lines.append("  " + pad("\(record.step.rawValue) \(record.step.name)", 17) + pad(record.outcome.rawValue, 9) + seconds + "  " + record.detail)
    }
    let ran = Set(report.steps.map(\.step))
    for step in RestoreStep.allCases where !ran.contains(step) {
      lines.append("  " + pad("\(step.rawValue) \(step.name)", 17) + "not run")
    }
    for warning in report.warnings { lines.append("warning: \(warning)") }
    for directory in report.rollbackDirectories {
      if report.outcome == .restored {
        lines.append("the replaced files are kept in \(directory); delete it when no longer needed")
      } else {
        lines.append("files moved aside remain in \(directory) (see rollback.json there)")
      }
    }
    if !report.operatorActions.isEmpty {
      lines.append("repair by hand:")
      for (number, action) in report.operatorActions.enumerated() { lines.append("  \(number + 1). \(action)") }
    }
    return lines
  }

  static func reportJSON(_ report: RestoreReport) -> String {
    let steps = report.steps.map { record in
      "{\"step\":\(JSONText.quote(record.step.name)),\"number\":\(record.step.rawValue),\"outcome\":\(JSONText.quote(record.outcome.rawValue)),\"duration_s\":\(String(format: "%.3f", record.duration)),\"detail\":\(JSONText.quote(record.detail))}"
    }
    func list(_ items: [String]) -> String { "[" + items.map(JSONText.quote).joined(separator: ",") + "]" }
    var object = "{\"id\":\(JSONText.quote(report.id)),\"outcome\":\(JSONText.quote(report.outcome.rawValue))"
    object += ",\"exit_code\":\(report.exitStatus)"
    object += ",\"failed_step\":\(report.failedStep.map { JSONText.quote($0.name) } ?? "null")"
    object += ",\"error\":\(report.error.map { JSONText.quote($0.message) } ?? "null")"
    object += ",\"steps\":[\(steps.joined(separator: ","))]"
    object += ",\"rollback_directories\":\(list(report.rollbackDirectories))"
    object += ",\"rollback_problems\":\(list(report.rollbackProblems))"
    object += ",\"operator_actions\":\(list(report.operatorActions))"
    object += ",\"warnings\":\(list(report.warnings))}"
    return object
  }

  /// Builds the error a failed restore ends with, naming the step and the state it left.
  static func finalError(_ report: RestoreReport, _ error: LifeboatError) -> LifeboatError {
    let step = report.failedStep.map { "step \($0.rawValue) (\($0.name))" } ?? "a step"
    switch report.outcome {
    case .restored:
      return error
    case .failedBeforeChanges:
      return LifeboatError(
        error.code, "restore of backup \(report.id) failed at \(step): \(error.message)",
        hint: error.hint ?? "nothing was changed")
    case .rolledBack:
      return LifeboatError(
        .failure, "restore of backup \(report.id) failed at \(step): \(error.message)",
        hint: "the previous state was put back: the files, and the application if lifeboat had stopped it. \(sentence(error.hint ?? "see the log above"))")
    case .rollbackFailed:
      return LifeboatError(
        .rollbackFailed,
        "restore of backup \(report.id) failed at \(step) (\(error.message)) and the rollback failed: \(report.rollbackProblems.joined(separator: "; "))",
        hint: "repair by hand: " + report.operatorActions.enumerated().map { "\($0 + 1). \($1)" }.joined(separator: " "))
    }
  }

  /// Capitalises the first letter, so a hint can follow another sentence.
  private static func sentence(_ text: String) -> String {
    text.prefix(1).uppercased() + text.dropFirst()
  }

  private static func pad(_ text: String, _ width: Int) -> String {
    text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
  }
}

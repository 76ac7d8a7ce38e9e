import Foundation

extension RestoreProcedure {
  /// Puts back the state from before the restore after step `failed` failed. It stops the
  /// application if the restore started it, takes the restored files out and renames the
  /// moved-aside files back. Then it runs the start command if the restore stopped or started
  /// the application.
  ///
  /// Returns what went wrong and, when anything did, what the operator must do by hand. The
  /// problems are also logged; the last line of a failed rollback is at critical level.
  func rollBack(after failed: RestoreStep) -> (problems: [String], actions: [String]) {
    logger.warning("restore failed at step \(failed.label); rolling back", [
      ("failed_step", .string(failed.name)),
      ("moved_aside", .int(Int64(moves.count))), ("placed", .int(Int64(placed.count))),
    ])
    var problems: [String] = []

    if startRan, let problem = stopRestoredApplication() {
      problems.append(problem)
      return (problems, reportRollbackFailure(problems, applicationRunning: true))
    }

    let blocked = takeRestoredFilesOut(&problems)
    moveOriginalsBack(skipping: blocked, &problems)
    for directory in createdRollback where !moves.contains(where: { $0.saved.hasPrefix(directory + "/") }) {
      unlink(directory + "/rollback.json")
      rmdir(directory)
    }
    if problems.isEmpty { removeCreatedDirectories() }

    if stopRan || startRan, let command = settings.startCommand {
      do {
        let result = try runHook("start", command, phase: "rollback")
        if !result.succeeded {
          problems.append("the start command \(result.summary) after the rollback")
        }
      } catch {
        problems.append("the start command could not run after the rollback: \(error)")
      }
    }

    guard !problems.isEmpty else {
      logger.warning("rollback finished: the previous files are back in place", [
        ("failed_step", .string(failed.name)),
      ])
      return ([], [])
    }
    return (problems, reportRollbackFailure(problems, applicationRunning: false))
  }

  /// Stops the application that step 7 started on the restored files, and returns a problem
  /// when it may still be running, because moving files under it would split its data.
  private func stopRestoredApplication() -> String? {
    let databases = placed.filter(\.isDatabase).flatMap { item in
      [item.destination] + RestorePlanner.journalSuffixes.map { item.destination + $0 }
    }
    if let command = settings.stopCommand {
      do {
        let result = try runHook("stop", command, phase: "rollback")
        guard result.succeeded else {
          return "the stop command \(result.summary) during the rollback, so the restored files were left in place"
        }
      } catch {
        return "the stop command could not run during the rollback: \(error)"
      }
    }
    let holders = waitForRelease(of: databases)
    guard holders.isEmpty else {
      let list = holders.map { "PID \($0.pid) (\($0.command))" }.joined(separator: ", ")
      return "\(list) still has the restored database open, so the restored files were left in place"
    }
    return nil
  }

  /// Moves each restored source (and any journal files beside a database) into its staging
  /// directory, which is deleted afterwards. Returns the destinations that could not be
  /// cleared, whose originals must then stay in the rollback directory.
  private func takeRestoredFilesOut(_ problems: inout [String]) -> Set<String> {
    var blocked = Set<String>()
    for item in placed.reversed() {
      var paths = [item.destination]
      if item.isDatabase { paths += RestorePlanner.journalSuffixes.map { item.destination + $0 } }
      for path in paths {
        var info = stat()
        guard lstat(path, &info) == 0 else { continue }
        let discard = item.stagingDirectory + "/discarded-" + (path as NSString).lastPathComponent
        do {
          try renameNoReplace(path, discard)
          logger.info("removed restored file", [("path", .string(path))])
        } catch {
          problems.append("cannot take the restored \(path) out of place: \(error)")
          blocked.insert(path)
        }
      }
    }
    placed = []
    return blocked
  }

  private func moveOriginalsBack(skipping blocked: Set<String>, _ problems: inout [String]) {
    var remaining: [(original: String, saved: String)] = []
    for move in moves.reversed() {
      guard !blocked.contains(move.original) else {
        remaining.insert(move, at: 0)
        continue
      }
      do {
        try renameNoReplace(move.saved, move.original)
        logger.info("moved back", [("path", .string(move.original))])
      } catch {
        problems.append("cannot move \(move.saved) back to \(move.original): \(error)")
        remaining.insert(move, at: 0)
      }
    }
    moves = remaining
    for directory in Set(remaining.isEmpty ? [] : remaining.map { ($0.original as NSString).deletingLastPathComponent }) {
      syncDirectory(directory)
    }
  }

  /// Logs the failed rollback at critical level and returns the steps the operator must take.
  private func reportRollbackFailure(_ problems: [String], applicationRunning: Bool) -> [String] {
    var actions: [String] = []
    if applicationRunning || stopRan || startRan {
      let how = settings.stopCommand.map { " (\($0))" } ?? ""
      actions.append("make sure the application is stopped\(how)")
    }
    for item in placed {
      actions.append("move the restored \(item.destination) out of the way")
    }
    for move in moves {
      actions.append("move \(move.saved) back to \(move.original)")
    }
    if let directory = createdRollback.first(where: directoryExists) {
      actions.append("the moves are listed in \(directory)/rollback.json")
    }
    if stopRan || startRan {
      let how = settings.startCommand.map { " (\($0))" } ?? ""
      actions.append("start the application again\(how) and check that it is healthy")
    }
    logger.critical(
      "rollback failed: the application's files are in a mixed state and need repair by hand", [
        ("problems", .string(problems.joined(separator: "; "))),
        ("operator_actions", .string(actions.enumerated().map { "\($0 + 1). \($1)" }.joined(separator: " "))),
      ])
    return actions
  }
}

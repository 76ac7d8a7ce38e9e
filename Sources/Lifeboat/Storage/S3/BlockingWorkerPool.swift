import Foundation

/// Threads of its own that run jobs which block on network I/O.
///
/// Blocking jobs must not run on dispatch's global queues: those share a pool of about one
/// thread per core with Swift concurrency, so a caller blocked waiting for the jobs could hold
/// the very threads the jobs need. The threads start with the first job and exit after
/// `shutdown()` once the queue is empty.
final class BlockingWorkerPool: @unchecked Sendable {
  private let threadCount: Int
  private let name: String
  private let condition = NSCondition()
  private var jobs: [() -> Void] = []
  private var started = false
  private var isShutDown = false

  init(threadCount: Int, name: String) {
    self.threadCount = max(1, threadCount)
    self.name = name
  }

  /// Queues `job`. The queue is unbounded, so callers limit the jobs outstanding.
  func submit(_ job: @escaping () -> Void) {
    condition.lock()
    precondition(!isShutDown, "job submitted to a shut-down worker pool")
    jobs.append(job)
    let startThreads = !started
    started = true
    condition.signal()
    condition.unlock()
    if startThreads {
      for index in 1...threadCount {
        let thread = Thread { [self] in runJobs() }
        thread.name = "\(name) \(index)"
        thread.start()
      }
    }
  }

  /// Lets the threads exit once every queued job has run. Does not wait for them.
  func shutdown() {
    condition.lock()
    isShutDown = true
    condition.broadcast()
    condition.unlock()
  }

  private func runJobs() {
    while true {
      condition.lock()
      while jobs.isEmpty && !isShutDown { condition.wait() }
      if jobs.isEmpty {
        condition.unlock()
        return
      }
      let job = jobs.removeFirst()
      condition.unlock()
      job()
    }
  }
}

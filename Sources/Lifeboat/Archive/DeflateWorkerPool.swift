import Foundation

/// Worker threads that encode queued `DeflateJob`s, each with its own `DeflateBlockEncoder`.
///
/// Jobs run in any order on any worker; the caller collects them in the order it submitted
/// them. `stop()` must run before the pool is dropped, because the threads keep it alive.
final class DeflateWorkerPool: @unchecked Sendable {
  private let condition = NSCondition()
  /// Jobs no worker has taken yet, oldest first. Guarded by `condition`.
  private var queue: [DeflateJob] = []
  private var isStopping = false
  private var runningWorkers = 0

  init(threads: Int, level: Int) throws {
    let encoders = try (0..<threads).map { _ in try DeflateBlockEncoder(level: level) }
    runningWorkers = encoders.count
    for (index, encoder) in encoders.enumerated() {
      let thread = Thread { self.runWorker(encoder) }
      thread.name = "lifeboat-deflate-\(index)"
      thread.start()
    }
  }

  /// The number of worker threads that have not exited.
  var activeWorkerCount: Int {
    condition.lock()
    defer { condition.unlock() }
    return runningWorkers
  }

  func submit(_ job: DeflateJob) {
    condition.lock()
    job.isDone = false
    queue.append(job)
    condition.broadcast()
    condition.unlock()
  }

  /// Returns whether a worker has finished `job`. When `wait` is true, blocks until one has or
  /// the pool stops.
  func isDone(_ job: DeflateJob, wait: Bool) -> Bool {
    condition.lock()
    defer { condition.unlock() }
    while wait && !job.isDone && !isStopping {
      condition.wait()
    }
    return job.isDone
  }

  /// Drops the queued jobs, lets each worker finish the job it is running, and returns once
  /// every worker thread has exited. Later calls return at once.
  func stop() {
    condition.lock()
    isStopping = true
    queue.removeAll()
    condition.broadcast()
    while runningWorkers > 0 {
      condition.wait()
    }
    condition.unlock()
  }

  private func runWorker(_ encoder: DeflateBlockEncoder) {
    condition.lock()
    while true {
      while queue.isEmpty && !isStopping {
        condition.wait()
      }
      if isStopping { break }
      let job = queue.removeFirst()
      condition.unlock()

      do {
        try encoder.encode(job)
      } catch {
        job.error = error
      }

      condition.lock()
      job.isDone = true
      condition.broadcast()
    }
    runningWorkers -= 1
    condition.broadcast()
    condition.unlock()
  }
}

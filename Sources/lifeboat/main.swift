import Foundation
import Lifeboat

// The tree walk and the removal of staging directories recurse once per directory level. A
// thread with a 1 GiB stack (address space, committed only as used) keeps trees thousands of
// levels deep from overflowing the main thread's 8 MiB stack.
let arguments = Array(CommandLine.arguments.dropFirst())
nonisolated(unsafe) var status: Int32 = 1
let finished = DispatchSemaphore(value: 0)
let worker = Thread {
  status = CommandLineTool.run(arguments: arguments)
  finished.signal()
}
worker.stackSize = 1 << 30
worker.start()
finished.wait()
// Temporary files and locks are released before run returns. _exit skips the C and Swift
// teardown, which could race with helper threads (lock refresh, compression workers) that
// are still winding down.
fflush(stdout)
_exit(status)

import Foundation
import Lifeboat
import Testing

/// Finding processes that have a database open, by their /proc/PID/fd entries.
@Suite struct OpenFileScannerTests {
  @Test func findsHolderUntilItExits() throws {
    let work = try TemporaryDirectory("scanner")
    let file = work.join("app.db")
    let other = work.join("other.db")
    FileManager.default.createFile(atPath: file, contents: Data("x".utf8))
    FileManager.default.createFile(atPath: other, contents: Data("y".utf8))

    let holder = Process()
    holder.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    holder.arguments = ["python3", "-c", "import sys, time; f = open(sys.argv[1]); print('open', flush=True); time.sleep(30)", file]
    let output = Pipe()
    holder.standardOutput = output
    try holder.run()
    // SIGKILL, because a child of a test thread starts with SIGTERM blocked.
    defer { if holder.isRunning { kill(holder.processIdentifier, SIGKILL) } }
    _ = output.fileHandleForReading.availableData

    let found = OpenFileScanner.holders(of: [file, other, work.join("missing.db")])
    #expect(found.holders.count == 1)
    #expect(found.holders.first?.pid == holder.processIdentifier)
    #expect(found.holders.first?.path == file)
    #expect(found.holders.first?.command.hasPrefix("python") == true)

    // A second name for the same file is found by inode.
    let link = work.join("hardlink.db")
    link.withCString { linkPath in _ = file.withCString { Glibc.link($0, linkPath) } }
    #expect(OpenFileScanner.holders(of: [link]).holders.first?.pid == holder.processIdentifier)

    kill(holder.processIdentifier, SIGKILL)
    holder.waitUntilExit()
    #expect(OpenFileScanner.holders(of: [file]).holders.isEmpty)
  }

  @Test func missingPathsIgnored() throws {
    let result = OpenFileScanner.holders(of: ["/nonexistent/lifeboat/app.db"])
    #expect(result.holders.isEmpty)
    #expect(result.uninspected == 0)
  }
}

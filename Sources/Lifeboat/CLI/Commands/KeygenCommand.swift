import Foundation

extension Command {
  static let keygen = Command(
    name: "keygen",
    summary: "Make an age X25519 identity for encrypting backups, and print its public key.",
    usage: "lifeboat keygen [--output FILE]",
    options: [
      OptionSpec("output", short: "o", value: "FILE", help: "write the identity to FILE (mode 0600, never overwritten)"),
      OptionSpec("help", short: "h", help: "show this help"),
    ],
    maxPositionals: 0,
    examples: [
      "lifeboat keygen --output /etc/lifeboat/backup-key.txt",
      "lifeboat keygen --output /root/offline-key.txt",
    ],
    details: """
      The identity file has the format of age-keygen: '# created:' and '# public key:' comment
      lines, then the AGE-SECRET-KEY-1... line. With --output the public key (age1...) is
      printed on stdout; without it the identity file goes to stdout and the public key to
      stderr. Put the public key in 'recipient' under [encryption], and keep the identity file
      where restores can read it (identity_file). 'age -d -i FILE' reads the same file.
      """,
    run: runKeygen)

  private static func runKeygen(_ context: CommandContext) throws -> Int32 {
    let identity = try AgeIdentity.generate()
    let recipient = try identity.recipient()
    let text = try identity.identityFileText(created: Date())
    guard let path = context.arguments.value("output") else {
      context.print(String(text.dropLast()))
      FileHandle.standardError.write(Data("public key: \(recipient)\n".utf8))
      return 0
    }

    let target = absolutePath(path)
    let fd = open(target, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
    guard fd >= 0 else {
      let reason = String(cString: strerror(errno))
      throw LifeboatError(
        .failure, "cannot create identity file \(target): \(reason)",
        hint: errno == EEXIST ? "an existing key is never overwritten; choose another file" : nil)
    }
    let bytes = Array(text.utf8)
    let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    let synced = fsync(fd) == 0
    close(fd)
    guard written == bytes.count, synced else {
      unlink(target)
      throw LifeboatError(.failure, "cannot write identity file \(target): \(String(cString: strerror(errno)))")
    }
    context.print(recipient.description)
    return 0
  }
}

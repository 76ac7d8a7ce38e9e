import Foundation
import Testing

/// File names other archivers have lost or merged: bytes that are not UTF-8, names equal only
/// after Unicode normalisation, control characters, and paths beyond tar's 100-byte field.
@Suite struct FileNameTests {
  @Test func nonUTF8AndNormalisationKeptApart() throws {
    let work = try TemporaryDirectory("names")
    let source = work.join("app")
    try FieldInputs.run(["hostile-names", source])
    let repo = work.join("repo")

    let backup = try TestSupport.lifeboat(["backup", "--path", source + "/logs", "--repo", "file://" + repo])
    #expect(backup.status == 0, "\(backup.stderr)")
    let target = work.join("restored")
    let restore = try TestSupport.lifeboat(["restore", "latest", "--target", target, "--repo", "file://" + repo])
    #expect(restore.status == 0, "\(restore.stderr)")

    let original = try FieldInputs.run(["tree-digest", source + "/logs"]).stdout
    let restored = try FieldInputs.run(["tree-digest", target + "/logs"]).stdout
    #expect(original.split(separator: "\n").count == 13)
    #expect(original == restored)

    // GNU tar extracts the same names, and sha256sum -c reads the escaped checksum lines.
    let extract = work.join("gnu")
    try FileManager.default.createDirectory(atPath: extract, withIntermediateDirectories: true)
    let untar = try TestSupport.shell("tar xzf '\(repo)'/backups/*.tar.gz -C '\(extract)'")
    #expect(untar.status == 0, "\(untar.stderr)")
    let byTar = try FieldInputs.run(["tree-digest", extract + "/logs"]).stdout
    #expect(byTar == original)
    let sums = try TestSupport.shell("sha256sum -c --strict SHA256SUMS", directory: extract)
    #expect(sums.status == 0, "\(sums.stdout)\(sums.stderr)")

    // The manifest keeps raw bytes of names that are not UTF-8, and never U+FFFD alone.
    let manifest = try FieldInputs.storedManifest(repository: repo)
    let files = manifest["files"] as? [[String: Any]] ?? []
    let encoded = files.compactMap { $0["path_base64"] as? String }
    #expect(encoded.count == 6)
    let nfcCount = files.filter { ($0["path"] as? String)?.unicodeScalars.count == "logs/café.txt".unicodeScalars.count }
    #expect(!nfcCount.isEmpty)
  }

  @Test func longPathsRoundTrip() throws {
    let work = try TemporaryDirectory("longpaths")
    let source = work.join("app")
    try FieldInputs.run(["long-paths", source])
    let repo = work.join("repo")

    let backup = try TestSupport.lifeboat(["backup", "--path", source + "/logs", "--repo", "file://" + repo])
    #expect(backup.status == 0, "\(backup.stderr)")
    let target = work.join("restored")
    let restore = try TestSupport.lifeboat(["restore", "latest", "--target", target, "--repo", "file://" + repo])
    #expect(restore.status == 0, "\(restore.stderr)")
    let original = try FieldInputs.run(["tree-digest", source + "/logs"]).stdout
    #expect(try FieldInputs.run(["tree-digest", target + "/logs"]).stdout == original)
    let link = try FileManager.default.destinationOfSymbolicLink(atPath: target + "/logs/longlink")
    #expect(link == String(repeating: "t", count: 150))

    // Stock readers see the full names: GNU tar and Python's tarfile.
    let tarNames = try TestSupport.shell("tar tzf '\(repo)'/backups/*.tar.gz | awk '{ print length($0) }' | sort -n | tail -1")
    #expect((Int(tarNames.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0) > 2900)
    let python = try TestSupport.shell(
      "python3 -c 'import tarfile,sys; t=tarfile.open(sys.argv[1]); print(sum(1 for m in t if m.name.endswith((\"-first.log\",\"-second.log\"))))' '\(repo)'/backups/*.tar.gz")
    #expect(python.stdout == "2\n")
  }
}

/// Maps `--only` values to the top-level names of a backup's sources.
public enum RestoreSelection {
  /// The value that selects every database source.
  public static let databases = "db"

  /// Returns the names of the sources that `only` selects, in manifest order: each value is a
  /// source name (`app.db`, `config`, `logs`) or `db` for every database. An empty `only`
  /// selects every source.
  ///
  /// - Throws: `LifeboatError` with `.usage` naming the values that match no source.
  public static func names(_ requestedNames: [String], in manifest: Manifest) throws -> [String] {
    let all = manifest.sources.map(\.name)
    // `config/` and `config` name the same source.
    let only = requestedNames.map { name in
      var trimmed = name
      while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed.removeLast() }
      return trimmed
    }
    guard !only.isEmpty else { return all }

    let known = Set(all)
    let unknown = only.filter { $0 != databases && !known.contains($0) }
    guard unknown.isEmpty else {
      throw LifeboatError(
        .usage,
        "backup \(manifest.id) has no source named \(unknown.joined(separator: ", "))",
        hint: "its sources are \(all.joined(separator: ", ")); 'db' selects every database")
    }
    let requested = Set(only)
    let chosen = manifest.sources.filter { source in
      requested.contains(source.name) || (requested.contains(databases) && source.kind == "database")
    }
    guard !chosen.isEmpty else {
      throw LifeboatError(
        .usage, "backup \(manifest.id) has no database source",
        hint: "its sources are \(all.joined(separator: ", "))")
    }
    return chosen.map(\.name)
  }
}

/// A bad config value: where it is (file, line:column, key path), what was found, what is
/// expected, and the nearest valid name when it looks like a typo.
public struct ConfigError: Error, CustomStringConvertible, Equatable {
    public var file: String
    public var line: Int
    public var column: Int
    /// Key path such as `model.layers[2].activation`; empty for the whole file.
    public var path: String
    public var message: String

    public init(file: String = "", line: Int = 0, column: Int = 0, path: String, _ message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.path = path
        self.message = message
    }

    public var description: String {
        var location = file
        if line > 0 { location += ":\(line):\(column)" }
        let prefix = [location, path].filter { !$0.isEmpty }.joined(separator: ": ")
        return prefix.isEmpty ? message : "\(prefix): \(message)"
    }
}

/// The candidate closest to `word` by edit distance, when close enough to be a likely typo.
func nearest(_ word: String, in candidates: [String]) -> String? {
    // A truncated name ("val_acc") means the one it begins.
    if word.count >= 3, let extended = candidates.filter({ $0.lowercased().hasPrefix(word.lowercased()) }).min(by: { $0.count < $1.count }) {
        return extended
    }
    let scored = candidates.map { ($0, editDistance(word.lowercased(), $0.lowercased())) }
    guard let best = scored.min(by: { $0.1 < $1.1 }) else { return nil }
    return best.1 <= Swift.max(2, best.0.count / 3) ? best.0 : nil
}

/// Levenshtein distance.
func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    if a.isEmpty { return b.count }
    var previous = Array(0...b.count), current = previous
    for i in 1...a.count {
        current[0] = i
        for j in stride(from: 1, through: b.count, by: 1) {
            current[j] = Swift.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        swap(&previous, &current)
    }
    return previous[b.count]
}

/// Bad input data: names the file and, where there is one, the line and column.
public struct DataError: Error, CustomStringConvertible, Equatable {
    public let file: String
    public let line: Int?
    public let column: Int?
    public let message: String
    /// A feature cell of text where the numeric reader needs numbers: such a file is a table
    /// with categories, which ``RawTable`` reads.
    public internal(set) var isTextFeature = false

    public init(file: String, line: Int? = nil, column: Int? = nil, _ message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.message = message
    }

    public var description: String {
        var location = file
        if let line { location += ":\(line)" }
        if let column { location += ":\(column)" }
        return "\(location): \(message)"
    }
}

/// The candidate closest to `word` by edit distance, when close enough to be a likely typo.
public func nearest(_ word: String, in candidates: [String]) -> String? {
    // A truncated name ("val_acc") means the one it begins.
    if word.count >= 3, let extended = candidates.filter({ $0.lowercased().hasPrefix(word.lowercased()) }).min(by: { $0.count < $1.count }) {
        return extended
    }
    let scored = candidates.map { ($0, editDistance(word.lowercased(), $0.lowercased())) }
    guard let best = scored.min(by: { $0.1 < $1.1 }) else { return nil }
    return best.1 <= Swift.max(2, best.0.count / 3) ? best.0 : nil
}

/// Levenshtein distance.
public func editDistance(_ a: String, _ b: String) -> Int {
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

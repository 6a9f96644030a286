import DLData
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

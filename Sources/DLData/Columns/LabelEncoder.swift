/// Turns target cells into what the model trains on: class indices for categorical
/// targets, values for numeric ones.
///
/// Classes are the declared ones in their order, or else the labels found, sorted
/// numerically when all are numbers and by name otherwise. One-hot target columns give
/// the class of the largest entry, named after its column.
enum LabelEncoder {
    struct Encoded {
        var targets: [Float]
        var width: Int
        var classes: [String]
    }

    /// A label's canonical text: numbers written the same way wherever they came from
    /// ("1", "1.0" and "01" are one class).
    static func canonical(_ text: String) -> String {
        guard let x = Double(text), x.isFinite else { return text }
        return x == x.rounded() && Swift.abs(x) < 1e15 ? String(Int64(x)) : String(x)
    }

    static func encode(kind: TargetKind, texts: [String]?, numbers: [Float], width: Int, names: [String],
                       path: String, origins: [Int], originIsLine: Bool) throws -> Encoded {
        guard case .categorical(let declared) = kind else { return Encoded(targets: numbers, width: width, classes: []) }
        if texts == nil {
            // One-hot (or probability) columns: the class is the column of the largest entry.
            let classes = declared ?? names
            guard classes.count == width else {
                throw DataError(file: path, "\(width) one-hot target columns but \(classes.count) classes (\(classes.joined(separator: ", ")))")
            }
            var targets = [Float](repeating: 0, count: numbers.count / width)
            for r in targets.indices {
                var best = 0
                for c in 0..<width {
                    let v = numbers[r * width + c]
                    guard v >= 0 else {
                        throw DataError(file: path, line: originIsLine ? origins[r] : nil, "one-hot target \(names[c]) is \(v); one-hot entries are 0 or 1 (or probabilities)")
                    }
                    if v > numbers[r * width + best] { best = c }
                }
                targets[r] = Float(best)
            }
            return Encoded(targets: targets, width: 1, classes: classes)
        }
        let labels = texts!.map(canonical)
        let classes: [String]
        if let declared {
            classes = declared.map(canonical)
        } else if labels.allSatisfy({ Double($0) != nil }) {
            classes = Set(labels).sorted { Double($0)! < Double($1)! }
        } else {
            classes = Set(labels).sorted()
        }
        let index = Dictionary(uniqueKeysWithValues: classes.enumerated().map { ($1, Float($0)) })
        var targets = [Float](repeating: 0, count: labels.count)
        for (r, label) in labels.enumerated() {
            guard let k = index[label] else {
                let place = originIsLine ? "line \(origins[r])" : "row \(origins[r])"
                throw DataError(file: path, line: originIsLine ? origins[r] : nil,
                                "\(place): label \"\(texts![r])\" is not one of the \(classes.count) classes (\(classes.prefix(12).joined(separator: ", "))\(classes.count > 12 ? ", ..." : "")); \(declared == nil ? "every split must use the training data's classes" : "add it to data.classes or fix the row")")
            }
            targets[r] = k
        }
        return Encoded(targets: targets, width: 1, classes: classes)
    }
}

/// The type and handling of every column of a table: declared in ``TableSpec`` or inferred
/// from the training file, with the mistakes a user can make about them caught here.
///
/// Inference: a column is numeric when every present cell is a number, a category when its
/// cells are text. A column of mostly numbers with some text cells is an error naming the
/// first text cell (declare it a category, or list the token in `data.missing_values`), and so
/// is a tie; a column of mostly text with some numbers is a category (its numbers are levels too).
public struct TablePlan: Sendable {
    public var plans: [TableEncoder.Plan]
    /// Declared `ignore`, by name.
    public var ignored: [String]

    /// `targets`: the target columns' indices (never inputs). `keyPath`: where a declared name
    /// came from, for messages (`data.columns`).
    public init(table: inout RawTable, spec: TableSpec, targets: [Int]) throws {
        plans = []
        ignored = []
        for k in table.columns.indices where !targets.contains(k) {
            let raw = table.columns[k], declared = spec.columns[raw.name]
            var numeric = spec.numericDefaults, category = spec.categoryDefaults
            if let declared {
                numeric = numeric.applying(declared.numeric)
                category = category.applying(declared.category)
            }
            let kind: TableEncoder.Kind
            switch declared?.type {
            case .ignore?:
                ignored.append(raw.name)
                continue
            case .numeric?:
                if let text = raw.firstText {
                    throw DataError(file: table.path, line: text.line, column: text.column,
                                    "column \"\(raw.name)\" is declared numeric, but this cell is \"\(text.text)\"; fix it, list the token in data.missing_values, or declare the column \"category\"")
                }
                kind = .numeric
            case .category?: kind = .category
            case .date?: kind = .date
            case nil:
                if raw.presentCells == 0 {
                    throw DataError(file: table.path, "column \"\(raw.name)\" is empty in every row (all \(table.rows) cells missing); declare it \"ignore\" in data.columns")
                }
                if raw.textCells == 0 {
                    kind = .numeric
                } else if raw.numericCells >= raw.textCells, let text = raw.firstText {
                    throw DataError(file: table.path, line: text.line, column: text.column,
                                    "column \"\(raw.name)\" holds numbers (\(raw.numericCells) cells) but this cell is \"\(text.text)\" (one of \(raw.textCells) text cells); if the column is a category, declare it so: \"columns\": {\"\(raw.name)\": \"category\"}; if \"\(text.text)\" means a missing value, add it to data.missing_values")
                } else {
                    kind = .category
                }
            }
            if let missing = declared?.missing {
                let allowed = kind == .numeric ? NumericHandling.Missing.allCases.map(\.rawValue)
                    : kind == .category ? CategoryHandling.Missing.allCases.map(\.rawValue) : ["mean"]
                guard allowed.contains(missing) else {
                    throw DataError(file: table.path, "data.columns.\(raw.name).missing is \"\(missing)\", which a \(kind.rawValue) column does not take; expected one of \(allowed.map { "\"\($0)\"" }.joined(separator: ", "))")
                }
            }
            // A category's (or a date's) number cells are levels too, written canonically ("7.0" is "7").
            if kind != .numeric && raw.numericCells > 0 { table.codeNumbers(ofColumn: k) }
            plans.append(TableEncoder.Plan(column: k, kind: kind, numeric: numeric, category: category))
        }
        guard !plans.isEmpty else {
            throw DataError(file: table.path, "every column is the target or ignored; at least one input column is needed")
        }
    }
}

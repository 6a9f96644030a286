import DLData
import Foundation

/// A date column in the ONNX graph: the raw ISO 8601 text parsed and expanded exactly as
/// ``TableEncoder/CivilDate`` does, with the string operators of opset 20:
///
///     valid    RegexFullMatch of the forms CivilDate.parse accepts, a real calendar day,
///              and not a missing-value token
///     text     split at "-" into year, month and the rest; the rest at "T" or " " into the day
///              and the time; the time at "Z", "+" or "-" (the zone), ":" and "," (a decimal comma)
///     parts    year; month and weekday as (sin, cos); day of year; time of day (sin, cos) in
///              UTC when the column has times. In double: Hinnant's days-from-civil for the
///              weekday, a table of month starts for the day of year
///     inputs   (Float(part) − shift) · scale, the training means where the cell is missing
///
/// Every split is of the text with the delimiter appended (`cut`), so each row has exactly
/// two pieces whatever the batch holds; the appended delimiters that stay at the end of a
/// piece are cut off before a number is read. `predict` refuses a cell that is not a date; a
/// graph cannot fail one row, so it reads such a cell as missing.
extension ONNXGraph {
    /// The forms ``TableEncoder/CivilDate/parse(_:)`` accepts (the calendar is checked apart).
    static let isoDatePattern = "[0-9]{4}-[0-9]{2}-[0-9]{2}([T ]([01][0-9]|2[0-3]):[0-5][0-9](:([0-5][0-9]|60)([.,][0-9]*)?)?(Z|[+-][0-9]{2}(:?[0-9]{2})?)?)?"

    /// The standardized inputs (N, denseWidth) of date `column`, read from a string (N, 1) graph input.
    mutating func dateInputs(_ column: TableEncoder.Column, missingValues: [String], prefix p: String) -> String {
        let x = input(column.name, width: 1, type: .string)
        var valid = node("RegexFullMatch", [x], name: "\(p)/is_iso", attributes: [("pattern", .string(Self.isoDatePattern))])
        for token in missingValues where TableEncoder.CivilDate.parse(token) != nil {
            valid = node("And", [valid, node("Not", [equal(x, token, "\(p)/is_token")], name: "\(p)/not_token")], name: "\(p)/valid_text")
        }
        let safe = node("Where", [valid, x, text("\(p)/epoch", "1970-01-01")], name: "\(p)/safe")

        // "YYYY-MM-DD…": every safe text has both dashes, so the split has three pieces.
        let ymd = node("StringSplit", [safe], names: ["\(p)/ymd", "\(p)/ymd_count"], attributes: [("delimiter", .string("-")), ("maxsplit", .int(2))])[0]
        let year = number(piece(ymd, 0, "\(p)/year_text"), "\(p)/year")
        let month = number(piece(ymd, 1, "\(p)/month_text"), "\(p)/month")
        let (beforeT, afterT) = cut(piece(ymd, 2, "\(p)/rest"), "T", "\(p)/at_t")
        let (dayText, afterSpace) = cut(beforeT, " ", "\(p)/at_space")
        let day = number(dayText, "\(p)/day")

        // The calendar: a leap year, the month's length and the days before it.
        let leap = node("Or", [node("And", [isMultiple(year, 4, "\(p)/by4"), node("Not", [isMultiple(year, 100, "\(p)/by100")], name: "\(p)/not_by100")], name: "\(p)/julian_leap"),
                               isMultiple(year, 400, "\(p)/by400")], name: "\(p)/leap")
        let monthIndex = node("Cast", [node("Clip", [arithmetic("Sub", month, 1, "\(p)/month0"), double("\(p)/zero", 0), double("\(p)/eleven", 11)], name: "\(p)/month_clipped")],
                              name: "\(p)/month_index", attributes: [("to", .int(ElementType.int64.rawValue))])
        let afterFebruary = node("And", [leap, node("Greater", [month, double("\(p)/two", 2)], name: "\(p)/after_feb")], name: "\(p)/leap_after_feb")
        let isFebruary = node("And", [leap, node("Equal", [month, double("\(p)/feb", 2)], name: "\(p)/is_feb")], name: "\(p)/leap_feb")
        let length = node("Add", [node("Gather", [doubles("\(p)/month_lengths", shape: [12], values: [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]), monthIndex], name: "\(p)/common_length"),
                                  indicator(isFebruary, "\(p)/leap_day")], name: "\(p)/month_length")
        let calendar = node("And", [
            node("And", [node("GreaterOrEqual", [month, double("\(p)/one", 1)], name: "\(p)/month_low"), node("LessOrEqual", [month, double("\(p)/twelve", 12)], name: "\(p)/month_high")], name: "\(p)/month_ok"),
            node("And", [node("GreaterOrEqual", [day, double("\(p)/first", 1)], name: "\(p)/day_low"), node("LessOrEqual", [day, length], name: "\(p)/day_high")], name: "\(p)/day_ok"),
        ], name: "\(p)/calendar_ok")
        valid = node("And", [valid, calendar], name: "\(p)/valid")

        // Days since 1970-01-01 (Hinnant), for the weekday: 0 = Monday.
        let early = node("LessOrEqual", [month, double("\(p)/feb_end", 2)], name: "\(p)/jan_or_feb")
        let y = node("Where", [early, arithmetic("Sub", year, 1, "\(p)/year_before"), year], name: "\(p)/march_year")
        let era = floorDivide(y, 400, "\(p)/era")
        let yearOfEra = node("Sub", [y, arithmetic("Mul", era, 400, "\(p)/era_years")], name: "\(p)/year_of_era")
        let shiftedMonth = node("Where", [early, arithmetic("Add", month, 9, "\(p)/month_plus9"), arithmetic("Sub", month, 3, "\(p)/month_minus3")], name: "\(p)/march_month")
        let dayOfMarchYear = node("Add", [floorDivide(arithmetic("Add", arithmetic("Mul", shiftedMonth, 153, "\(p)/m153"), 2, "\(p)/m153_2"), 5, "\(p)/month_days"),
                                          arithmetic("Sub", day, 1, "\(p)/day0")], name: "\(p)/day_of_march_year")
        let dayOfEra = node("Add", [node("Sub", [node("Add", [arithmetic("Mul", yearOfEra, 365, "\(p)/yoe365"), floorDivide(yearOfEra, 4, "\(p)/yoe4")], name: "\(p)/yoe_days"),
                                                 floorDivide(yearOfEra, 100, "\(p)/yoe100")], name: "\(p)/yoe_days_100"), dayOfMarchYear], name: "\(p)/day_of_era")
        let days = arithmetic("Sub", node("Add", [arithmetic("Mul", era, 146097, "\(p)/era_days"), dayOfEra], name: "\(p)/days_0000"), 719468, "\(p)/days")
        let plus3 = arithmetic("Add", days, 3, "\(p)/days_plus3")
        let weekday = node("Sub", [plus3, arithmetic("Mul", floorDivide(plus3, 7, "\(p)/weeks"), 7, "\(p)/week_days")], name: "\(p)/weekday")
        let monthStarts: [Double] = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334]
        let dayOfYear = node("Add", [node("Add", [node("Gather", [doubles("\(p)/month_starts", shape: [12], values: monthStarts), monthIndex], name: "\(p)/days_before"),
                                                  indicator(afterFebruary, "\(p)/leap_shift")], name: "\(p)/days_before_month"), day], name: "\(p)/day_of_year")

        let tau = 2 * Double.pi
        let monthAngle = arithmetic("Div", arithmetic("Mul", arithmetic("Sub", month, 1, "\(p)/month_from0"), tau, "\(p)/month_tau"), 12, "\(p)/month_angle")
        let weekdayAngle = arithmetic("Div", arithmetic("Mul", weekday, tau, "\(p)/weekday_tau"), 7, "\(p)/weekday_angle")
        var parts = [year, node("Sin", [monthAngle], name: "\(p)/month_sin"), node("Cos", [monthAngle], name: "\(p)/month_cos"),
                     node("Sin", [weekdayAngle], name: "\(p)/weekday_sin"), node("Cos", [weekdayAngle], name: "\(p)/weekday_cos"), dayOfYear]
        if column.hasTime {
            let seconds = secondsOfDay(node("StringConcat", [afterT, afterSpace], name: "\(p)/time_text"), prefix: p)
            let timeAngle = arithmetic("Div", arithmetic("Mul", seconds, tau, "\(p)/time_tau"), 86400, "\(p)/time_angle")
            parts += [node("Sin", [timeAngle], name: "\(p)/time_sin"), node("Cos", [timeAngle], name: "\(p)/time_cos")]
        }

        let w = column.denseWidth
        let values = node("Cast", [node("Concat", parts, name: "\(p)/parts", attributes: [("axis", .int(1))])], name: "\(p)/parts_float",
                          attributes: [("to", .int(ElementType.float.rawValue))])
        let filled = node("Where", [valid, values, constant("\(p)/fill", shape: [w], values: column.fill)], name: "\(p)/filled")
        return node("Mul", [node("Sub", [filled, constant("\(p)/shift", shape: [w], values: column.shift)], name: "\(p)/shifted"),
                            constant("\(p)/scale", shape: [w], values: column.scale)], name: "\(p)/scaled")
    }

    /// `HH:MM[:SS[.fff]][Z|±HH[:MM]]` (each piece possibly followed by the appended delimiters;
    /// empty for a date alone: midnight) → seconds since midnight UTC, in [0, 86400).
    private mutating func secondsOfDay(_ time: String, prefix p: String) -> String {
        let (beforeZ, _) = cut(time, "Z", "\(p)/at_z")
        let (beforePlus, east) = cut(beforeZ, "+", "\(p)/at_plus")
        let (clock, west) = cut(beforePlus, "-", "\(p)/at_minus")
        let (hourText, afterHour) = cut(clock, ":", "\(p)/at_hour")
        let (minuteText, afterMinute) = cut(afterHour, ":", "\(p)/at_minute")
        let secondText = trimmed(cut(afterMinute, ":", "\(p)/at_second").head, "\(p)/second_text")
        let (wholeSeconds, decimalComma) = cut(secondText, ",", "\(p)/at_comma")
        let fraction = number(node("StringConcat", [text("\(p)/zero_point", "0."), cut(decimalComma, ",", "\(p)/comma_end").head], name: "\(p)/fraction_text"), "\(p)/fraction")
        let seconds = node("Add", [number(wholeSeconds, "\(p)/whole_seconds"), fraction], name: "\(p)/seconds")
        let clockSeconds = node("Add", [node("Add", [arithmetic("Mul", number(hourText, "\(p)/hour"), 3600, "\(p)/hour_seconds"),
                                                     arithmetic("Mul", number(trimmed(minuteText, "\(p)/minute_text"), "\(p)/minute"), 60, "\(p)/minute_seconds")], name: "\(p)/hm_seconds"),
                                        seconds], name: "\(p)/clock_seconds")

        // The zone: ±HH, ±HHMM or ±HH:MM, east of UTC positive.
        let zone = trimmed(cut(cut(node("StringConcat", [east, west], name: "\(p)/zone_raw"), "+", "\(p)/zone_plus").head, "-", "\(p)/zone_minus").head, "\(p)/zone")
        let sign = node("Where", [equal(east, "", "\(p)/no_east"), node("Where", [equal(west, "", "\(p)/no_west"), double("\(p)/utc", 0), double("\(p)/west", -1)], name: "\(p)/west_sign"),
                                  double("\(p)/east", 1)], name: "\(p)/zone_sign")
        let (zoneHead, zoneTail) = cut(zone, ":", "\(p)/zone_colon")
        let fourDigits = node("RegexFullMatch", [zoneHead], name: "\(p)/zone_hhmm", attributes: [("pattern", .string("[0-9]{4}"))])
        let zoneNumber = number(zoneHead, "\(p)/zone_number"), hundreds = floorDivide(zoneNumber, 100, "\(p)/zone_hundreds")
        let zoneHours = node("Where", [fourDigits, hundreds, zoneNumber], name: "\(p)/zone_hours")
        let zoneMinutes = node("Where", [fourDigits, node("Sub", [zoneNumber, arithmetic("Mul", hundreds, 100, "\(p)/zone_h100")], name: "\(p)/zone_mm"),
                                         number(cut(zoneTail, ":", "\(p)/zone_end").head, "\(p)/zone_minutes_text")], name: "\(p)/zone_minutes")
        let offset = node("Mul", [sign, node("Add", [arithmetic("Mul", zoneHours, 3600, "\(p)/zone_h_seconds"), arithmetic("Mul", zoneMinutes, 60, "\(p)/zone_m_seconds")], name: "\(p)/zone_seconds")],
                          name: "\(p)/offset")
        // truncatingRemainder, then into [0, 86400), as CivilDate.parse.
        let wrapped = node("Mod", [node("Sub", [clockSeconds, offset], name: "\(p)/utc_seconds"), double("\(p)/day_seconds", 86400)], name: "\(p)/wrapped", attributes: [("fmod", .int(1))])
        let negative = node("Less", [wrapped, double("\(p)/zero_seconds", 0)], name: "\(p)/negative")
        return node("Where", [negative, arithmetic("Add", wrapped, 86400, "\(p)/wrapped_up"), wrapped], name: "\(p)/seconds_of_day")
    }

    // MARK: Pieces

    /// (the text before the first `delimiter`, the rest with `delimiter` appended), or (text, "")
    /// without one: a split of `s + delimiter`, so every row has exactly two pieces.
    private mutating func cut(_ s: String, _ delimiter: String, _ name: String) -> (head: String, tail: String) {
        let padded = node("StringConcat", [s, text("\(name)/delimiter", delimiter)], name: "\(name)/padded")
        let pieces = node("StringSplit", [padded], names: ["\(name)/pieces", "\(name)/count"], attributes: [("delimiter", .string(delimiter)), ("maxsplit", .int(1))])[0]
        return (piece(pieces, 0, "\(name)/head"), piece(pieces, 1, "\(name)/tail"))
    }

    /// `s` without the appended "T" and " " that a cut can leave at its end.
    private mutating func trimmed(_ s: String, _ name: String) -> String {
        cut(cut(s, "T", "\(name)/t").head, " ", "\(name)/space").head
    }

    /// Piece `k` (N, 1) of a split (N, 1, pieces).
    private mutating func piece(_ pieces: String, _ k: Int, _ name: String) -> String {
        node("Gather", [pieces, integer("\(name)/index", k)], name: name, attributes: [("axis", .int(2))])
    }

    /// A text of digits as a double; an empty piece is 0 (Cast cannot read "").
    private mutating func number(_ s: String, _ name: String) -> String {
        let digits = node("Where", [equal(s, "", "\(name)/empty"), text("\(name)/zero", "0"), s], name: "\(name)/digits")
        return node("Cast", [digits], name: name, attributes: [("to", .int(ElementType.double.rawValue))])
    }

    private mutating func equal(_ s: String, _ value: String, _ name: String) -> String {
        node("Equal", [s, text("\(name)/text", value)], name: name)
    }

    private mutating func double(_ name: String, _ value: Double) -> String { doubles(name, shape: [], values: [value]) }

    private mutating func arithmetic(_ op: String, _ a: String, _ b: Double, _ name: String) -> String {
        node(op, [a, double("\(name)/operand", b)], name: name)
    }

    private mutating func floorDivide(_ a: String, _ b: Double, _ name: String) -> String {
        node("Floor", [arithmetic("Div", a, b, "\(name)/quotient")], name: name)
    }

    private mutating func isMultiple(_ a: String, _ b: Double, _ name: String) -> String {
        node("Equal", [node("Sub", [a, arithmetic("Mul", floorDivide(a, b, "\(name)/times"), b, "\(name)/multiple")], name: "\(name)/remainder"), double("\(name)/zero", 0)], name: name)
    }

    /// 1 where `condition`, else 0, in double.
    private mutating func indicator(_ condition: String, _ name: String) -> String {
        node("Cast", [condition], name: name, attributes: [("to", .int(ElementType.double.rawValue))])
    }
}

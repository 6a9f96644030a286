import CHDF5Shim
import Foundation

/// An HDF5 file through libhdf5's C API: numeric datasets of any rank, read as float32 or
/// float64 whatever their stored element type (libhdf5 converts), whole or by row ranges
/// (hyperslabs, for streaming); typed, chunked and compressed writes; string attributes.
/// Errors are reported by dltrain itself, never printed by the library.
public final class HDF5File {
    /// Stored element types dltrain can write (reading takes any numeric type).
    public enum ElementType: String, Sendable, CaseIterable {
        case float32, float64, int8, int16, int32, int64, uint8, uint16

        var fileType: hid_t {
            switch self {
            case .float32: dl_h5t_native_float()
            case .float64: dl_h5t_native_double()
            case .int8: dl_h5t_native_int8()
            case .int16: dl_h5t_native_int16()
            case .int32: dl_h5t_native_int32()
            case .int64: dl_h5t_native_int64()
            case .uint8: dl_h5t_native_uint8()
            case .uint16: dl_h5t_native_uint16()
            }
        }
    }

    public let path: String
    private var id: hid_t

    private init(path: String, id: hid_t) {
        self.path = path
        self.id = id
    }

    /// Creates (or truncates) `path`.
    public static func create(_ path: String) throws -> HDF5File {
        dl_h5_silence_errors()
        let id = H5Fcreate(path, dl_h5f_acc_trunc(), dl_h5p_default(), dl_h5p_default())
        guard id >= 0 else { throw DataError(file: path, "cannot create the HDF5 file (does the directory exist and is it writable?)") }
        return HDF5File(path: path, id: id)
    }

    /// Opens `path` read-only, vetted first in a separate process (``HDF5Isolation``).
    public static func open(_ path: String) throws -> HDF5File {
        dl_h5_silence_errors()
        guard FileManager.default.fileExists(atPath: path) else { throw DataError(file: path, "no such file; check the path (relative paths are relative to the config file)") }
        guard H5Fis_hdf5(path) > 0 else { throw DataError(file: path, "not an HDF5 file (its signature is missing or it is truncated)") }
        try HDF5Isolation.vet(path)
        return try openInProcess(path)
    }

    /// Opens `path` read-only in this process, without vetting.
    static func openInProcess(_ path: String) throws -> HDF5File {
        dl_h5_silence_errors()
        guard H5Fis_hdf5(path) > 0 else { throw DataError(file: path, "not an HDF5 file (its signature is missing or it is truncated)") }
        let id = H5Fopen(path, dl_h5f_acc_rdonly(), dl_h5p_default())
        guard id >= 0 else { throw DataError(file: path, "cannot open the HDF5 file (truncated or damaged?)") }
        return HDF5File(path: path, id: id)
    }

    deinit { close() }

    /// Closes the file (later calls do nothing); everything written is then in the file.
    public func close() {
        if id >= 0 {
            H5Fclose(id)
            // libhdf5 keeps freed blocks on free lists of its own (a 1 MiB type-conversion
            // buffer after reading integer labels as floats): hand them back to malloc.
            H5garbage_collect()
        }
        id = -1
    }

    /// Flushes everything written so far to the operating system.
    public func flush() { H5Fflush(id, H5F_SCOPE_GLOBAL) }

    /// Every dataset's path, sorted (`X`, `train/X`...; no leading slash).
    public var datasetNames: [String] {
        let needed = dl_h5_list_datasets(id, nil, 0)
        guard needed > 0 else { return [] }
        var buffer = [CChar](repeating: 0, count: needed + 1)
        _ = dl_h5_list_datasets(id, &buffer, buffer.count)
        let bytes = buffer.prefix(needed).map { UInt8(bitPattern: $0) }
        return String(decoding: bytes, as: UTF8.self).split(separator: "\n").map(String.init).sorted()
    }

    public func contains(_ name: String) -> Bool {
        // H5Lexists needs each parent group to exist; walk the path so a missing group is "no".
        var prefix = ""
        for part in name.split(separator: "/") {
            prefix += (prefix.isEmpty ? "" : "/") + part
            guard H5Lexists(id, prefix, dl_h5p_default()) > 0 else { return false }
        }
        return !prefix.isEmpty
    }

    private func openDataset(_ name: String) throws -> hid_t {
        guard contains(name) else {
            let names = datasetNames
            throw DataError(file: path, "no dataset \"\(name)\"; the file has \(names.isEmpty ? "no datasets" : names.map { "\"\($0)\"" }.joined(separator: ", "))")
        }
        let dataset = H5Dopen2(id, name, dl_h5p_default())
        guard dataset >= 0 else { throw DataError(file: path, "\"\(name)\" is not a dataset") }
        return dataset
    }

    /// The dimensions of dataset `name`.
    public func shape(of name: String) throws -> [Int] {
        let dataset = try openDataset(name)
        defer { H5Dclose(dataset) }
        let space = H5Dget_space(dataset)
        defer { H5Sclose(space) }
        let rank = Int(H5Sget_simple_extent_ndims(space))
        guard rank >= 0 else { throw DataError(file: path, "cannot read the shape of \"\(name)\"") }
        var dims = [hsize_t](repeating: 0, count: max(rank, 1))
        H5Sget_simple_extent_dims(space, &dims, nil)
        return dims.prefix(rank).map { Int($0) }
    }

    /// The element count of `shape`, refused when it overflows or needs more memory than the
    /// machine has: a file (a crafted checkpoint, say) may declare any shape, and believing it
    /// would end in an allocation failure instead of an error message.
    func checkedCount(_ name: String, _ shape: [Int], bytesPerElement: Int) throws -> Int {
        var count = 1
        for d in shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: d)
            guard !overflow else { throw DataError(file: path, "dataset \"\(name)\" declares shape \(shape), too large to exist; the file is damaged or not what it claims") }
            count = product
        }
        let memory = Int(sysconf(Int32(_SC_PHYS_PAGES))) * Int(sysconf(Int32(_SC_PAGESIZE)))
        let (bytes, overflow) = count.multipliedReportingOverflow(by: bytesPerElement)
        guard !overflow, memory <= 0 || bytes <= memory else {
            throw DataError(file: path, "dataset \"\(name)\" declares shape \(shape) (\(count) values), more than this machine's memory; the file is damaged or not what it claims (set data.memory_limit_mb to stream a large HDF5 training file)")
        }
        return count
    }

    /// Refuses what libhdf5 would believe and allocate for, whatever the file claims: an
    /// element wider than any number (it sizes conversion buffers by it), or a chunk that would
    /// not fit in memory (it allocates a whole chunk to read any part of it).
    private func checkDeclaredSizes(_ name: String, _ dataset: hid_t, rank: Int) throws {
        let type = H5Dget_type(dataset)
        defer { H5Tclose(type) }
        let elementBytes = Int(H5Tget_size(type))
        guard (1...16).contains(elementBytes) else {
            throw DataError(file: path, "dataset \"\(name)\" declares \(elementBytes)-byte elements, which no number has; the file is damaged or not what it claims")
        }
        // libhdf5 1.10 converts with the bit positions the file declares, unchecked: a
        // precision or field beyond the element's bits smashes its stack (found by fuzzing).
        let bits = elementBytes * 8, precision = Int(H5Tget_precision(type)), offset = Int(H5Tget_offset(type))
        var consistent = precision >= 1 && offset >= 0 && offset + precision <= bits
        if H5Tget_class(type) == H5T_FLOAT {
            var signPosition = 0, exponentPosition = 0, exponentSize = 0, mantissaPosition = 0, mantissaSize = 0
            consistent = consistent && H5Tget_fields(type, &signPosition, &exponentPosition, &exponentSize, &mantissaPosition, &mantissaSize) >= 0
                && signPosition < bits && exponentPosition + exponentSize <= bits && mantissaPosition + mantissaSize <= bits
                && exponentSize >= 1 && mantissaSize >= 1 && exponentSize <= 32 && mantissaSize <= 112
        }
        guard consistent else {
            throw DataError(file: path, "dataset \"\(name)\" declares a number type whose bit fields do not fit its \(elementBytes) bytes; the file is damaged or not what it claims")
        }
        guard rank > 0 else { return }
        let plist = H5Dget_create_plist(dataset)
        defer { H5Pclose(plist) }
        guard H5Pget_layout(plist) == H5D_CHUNKED else { return }
        var chunk = [hsize_t](repeating: 0, count: rank)
        guard H5Pget_chunk(plist, Int32(rank), &chunk) == Int32(rank) else { return }
        var bytes = elementBytes
        for d in chunk {
            let (product, overflow) = bytes.multipliedReportingOverflow(by: Int(clamping: d))
            bytes = overflow ? Int.max : product
        }
        let memory = Int(sysconf(Int32(_SC_PHYS_PAGES))) * Int(sysconf(Int32(_SC_PAGESIZE)))
        let limit = Swift.min(1 << 30, memory > 0 ? memory / 4 : 1 << 30)
        guard bytes <= limit else {
            throw DataError(file: path, "dataset \"\(name)\" declares chunks of \(chunk.map(String.init).joined(separator: "×")) (\(bytes) bytes), more than dltrain reads at once (\(limit) bytes); the file is damaged, or rewrite it with smaller chunks (h5repack -l CHUNK=...)")
        }
    }

    /// Refuses a dataset that declares far more data than the file stores: deflate compresses
    /// at most about 1000:1, so a larger ratio is a damaged or crafted header, and believing it
    /// would allocate what the file never held.
    private func checkStorage(_ name: String, count: Int) throws {
        let dataset = try openDataset(name)
        defer { H5Dclose(dataset) }
        let type = H5Dget_type(dataset)
        defer { H5Tclose(type) }
        let declared = Double(count) * Double(H5Tget_size(type)), stored = Double(H5Dget_storage_size(dataset))
        guard declared <= 1_048_576 || declared <= 1100 * stored else {
            throw DataError(file: path, "dataset \"\(name)\" declares \(count) values (\(Int(declared)) bytes) but the file stores \(Int(stored)) bytes of it; the file is damaged or not what it claims")
        }
    }

    /// Whether dataset `name` holds numbers (integers or floats), the only kind dltrain reads.
    public func isNumeric(_ name: String) throws -> Bool {
        let dataset = try openDataset(name)
        defer { H5Dclose(dataset) }
        let type = H5Dget_type(dataset)
        defer { H5Tclose(type) }
        let typeClass = H5Tget_class(type)
        return typeClass == H5T_INTEGER || typeClass == H5T_FLOAT
    }

    /// Reads dataset `name` whole, converted to `T` (Float or Double).
    public func read<T: HDF5Readable>(_ name: String, as: T.Type = Float.self) throws -> (shape: [Int], values: [T]) {
        let shape = try self.shape(of: name)
        let count = try checkedCount(name, shape, bytesPerElement: MemoryLayout<T>.size)
        try checkStorage(name, count: count)
        // Not zeroed first: the read writes every element, and zeroing a data set of hundreds
        // of MiB was a pass of its own (in the vetting child and again in dltrain).
        let values = try [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            guard let start = buffer.baseAddress, count > 0 else { return }
            try readRows(name, start: 0, count: shape.first ?? 1, into: start)
            initialized = count
        }
        return (shape, values)
    }

    /// Reads rows `start..<start+count` of dataset `name` (along its first dimension) into
    /// `buffer`, converted to `T`: a hyperslab read, so only those rows are loaded.
    public func readRows<T: HDF5Readable>(_ name: String, start: Int, count: Int, into buffer: UnsafeMutablePointer<T>) throws {
        try T.checkNumeric(self, name)
        let dataset = try openDataset(name)
        defer { H5Dclose(dataset) }
        let fileSpace = H5Dget_space(dataset)
        defer { H5Sclose(fileSpace) }
        let rank = Int(H5Sget_simple_extent_ndims(fileSpace))
        var dims = [hsize_t](repeating: 0, count: max(rank, 1))
        H5Sget_simple_extent_dims(fileSpace, &dims, nil)
        try checkDeclaredSizes(name, dataset, rank: rank)
        if rank == 0 {
            guard H5Dread(dataset, T.memoryType, dl_h5s_all(), dl_h5s_all(), dl_h5p_default(), buffer) >= 0 else {
                throw DataError(file: path, "cannot read dataset \"\(name)\"")
            }
            return
        }
        guard start >= 0, count >= 0, start + count <= Int(dims[0]) else {
            throw DataError(file: path, "rows \(start)..<\(start + count) are outside the \(dims[0]) rows of \"\(name)\"")
        }
        if count == 0 { return }
        var offset = [hsize_t](repeating: 0, count: rank), size = dims
        offset[0] = hsize_t(start)
        size[0] = hsize_t(count)
        H5Sselect_hyperslab(fileSpace, H5S_SELECT_SET, &offset, nil, &size, nil)
        let memorySpace = H5Screate_simple(Int32(rank), &size, nil)
        defer { H5Sclose(memorySpace) }
        guard H5Dread(dataset, T.memoryType, memorySpace, fileSpace, dl_h5p_default(), buffer) >= 0 else {
            throw DataError(file: path, "cannot read rows \(start)..<\(start + count) of \"\(name)\" (damaged file, or an unsupported filter?)")
        }
    }

    /// Writes `values` (row-major, `shape`) as dataset `name`, stored as `type`; parent groups
    /// are created as needed. `chunkRows` stores it in chunks of that many rows, and
    /// `compression` (1-9) deflates each chunk.
    public func write<T: HDF5Readable>(_ name: String, shape: [Int], values: [T], type: ElementType = .float32,
                                       chunkRows: Int? = nil, compression: Int? = nil) throws {
        try values.withUnsafeBufferPointer { try write(name, shape: shape, values: $0, type: type, chunkRows: chunkRows, compression: compression) }
    }

    /// ``write(_:shape:values:type:chunkRows:compression:)`` from memory the caller owns
    /// (parameters, optimizer state): no copy of the values on the way.
    public func write<T: HDF5Readable>(_ name: String, shape: [Int], values: UnsafeBufferPointer<T>, type: ElementType = .float32,
                                       chunkRows: Int? = nil, compression: Int? = nil) throws {
        precondition(shape.reduce(1, *) == values.count, "\(values.count) values for shape \(shape)")
        var dims = shape.map { hsize_t($0) }
        let space = H5Screate_simple(Int32(dims.count), &dims, nil)
        defer { H5Sclose(space) }
        let linkProperties = H5Pcreate(dl_h5p_link_create())
        defer { H5Pclose(linkProperties) }
        H5Pset_create_intermediate_group(linkProperties, 1)
        let creation = H5Pcreate(dl_h5p_dataset_create())
        defer { H5Pclose(creation) }
        if let chunkRows, !shape.isEmpty {
            var chunk = dims
            chunk[0] = hsize_t(max(1, min(chunkRows, shape[0])))
            H5Pset_chunk(creation, Int32(chunk.count), &chunk)
            if let compression { H5Pset_deflate(creation, UInt32(compression)) }
        }
        let dataset = H5Dcreate2(id, name, type.fileType, space, linkProperties, creation, dl_h5p_default())
        guard dataset >= 0 else { throw DataError(file: path, "cannot create dataset \"\(name)\" (does it exist already?)") }
        defer { H5Dclose(dataset) }
        let status = H5Dwrite(dataset, T.memoryType, dl_h5s_all(), dl_h5s_all(), dl_h5p_default(), values.baseAddress)
        guard status >= 0 else {
            throw DataError(file: path, "cannot write dataset \"\(name)\" (disk full?)")
        }
    }
}

extension HDF5File {
    /// Writes `text` as a one-dimensional uint8 dataset of its UTF-8 bytes (in h5py:
    /// `bytes(f[name][()]).decode()`).
    public func writeText(_ name: String, _ text: String) throws {
        let bytes = Array(text.utf8)
        try write(name, shape: [bytes.count], values: bytes, type: .uint8)
    }

    /// Reads a dataset written by ``writeText(_:_:)``.
    public func readText(_ name: String) throws -> String {
        guard try holdsBytes(name) else { throw DataError(file: path, "dataset \"\(name)\" is not text (bytes)") }
        return String(decoding: try read(name, as: UInt8.self).values, as: UTF8.self)
    }

    /// Whether dataset `name` holds unsigned bytes, as ``writeText(_:_:)`` stores text.
    func holdsBytes(_ name: String) throws -> Bool {
        let dataset = try openDataset(name)
        defer { H5Dclose(dataset) }
        let type = H5Dget_type(dataset)
        defer { H5Tclose(type) }
        return H5Tget_class(type) == H5T_INTEGER && H5Tget_size(type) == 1 && H5Tget_sign(type) == H5T_SGN_NONE
    }

    /// Creates `path` through `write` atomically: the file is written under a temporary
    /// name beside it, flushed to disk (fsync), then renamed over `path` and the directory
    /// synced, so a crash or kill at any moment leaves either the old file or the new one.
    public static func writeAtomically(_ path: String, _ write: (HDF5File) throws -> Void) throws {
        let temporary = "\(path).tmp-\(getpid())"
        removeAbandonedTemporaries(of: path)
        do {
            let file = try HDF5File.create(temporary)
            try write(file)
            file.close()
            try syncFile(temporary)
            guard rename(temporary, path) == 0 else {
                throw DataError(file: path, "cannot replace the file: \(String(cString: strerror(errno)))")
            }
            try? syncFile((path as NSString).deletingLastPathComponent.isEmpty ? "." : (path as NSString).deletingLastPathComponent)
        } catch {
            unlink(temporary)
            throw error
        }
    }

    /// Temporaries (`NAME.h5.tmp-PID`) beside `path` left by processes that died mid-write
    /// (kill -9): their pid no longer runs, so nothing will finish them.
    private static func removeAbandonedTemporaries(of path: String) {
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] {
            guard let marker = name.range(of: ".h5.tmp-"), let pid = Int32(name[marker.upperBound...]),
                  pid != getpid(), kill(pid, 0) != 0, errno == ESRCH else { continue }
            unlink("\(directory)/\(name)")
        }
    }

    private static func syncFile(_ path: String) throws {
        let descriptor = Glibc.open(path, O_RDONLY)
        guard descriptor >= 0 else { throw DataError(file: path, "cannot open to sync: \(String(cString: strerror(errno)))") }
        defer { Glibc.close(descriptor) }
        guard fsync(descriptor) == 0 else { throw DataError(file: path, "cannot sync to disk (disk full?): \(String(cString: strerror(errno)))") }
    }
}

/// Element types dltrain reads HDF5 data into.
public protocol HDF5Readable: Numeric {
    static var memoryType: hid_t { get }
}

extension HDF5Readable {
    static func checkNumeric(_ file: HDF5File, _ name: String) throws {
        guard try file.isNumeric(name) else {
            throw DataError(file: file.path, "dataset \"\(name)\" does not hold numbers (strings or compound records?); features and targets must be numeric")
        }
    }
}

extension Float: HDF5Readable { public static var memoryType: hid_t { dl_h5t_native_float() } }
extension Double: HDF5Readable { public static var memoryType: hid_t { dl_h5t_native_double() } }
extension UInt8: HDF5Readable { public static var memoryType: hid_t { dl_h5t_native_uint8() } }

import CHDF5Shim

/// A minimal float32 HDF5 file through libhdf5's C API; grows with the data sources and
/// checkpoints. Errors are reported by dltrain itself, never printed by the library.
public final class HDF5File {
    public let path: String
    private let id: hid_t

    /// The linked libhdf5's version, "major.minor.release".
    public static var libraryVersion: String {
        var major: UInt32 = 0, minor: UInt32 = 0, release: UInt32 = 0
        H5get_libversion(&major, &minor, &release)
        return "\(major).\(minor).\(release)"
    }

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

    public static func open(_ path: String) throws -> HDF5File {
        dl_h5_silence_errors()
        guard H5Fis_hdf5(path) > 0 else { throw DataError(file: path, "not an HDF5 file (or it does not exist)") }
        let id = H5Fopen(path, dl_h5f_acc_rdonly(), dl_h5p_default())
        guard id >= 0 else { throw DataError(file: path, "cannot open the HDF5 file") }
        return HDF5File(path: path, id: id)
    }

    deinit { H5Fclose(id) }

    public func write(_ name: String, shape: [Int], values: [Float]) throws {
        precondition(shape.reduce(1, *) == values.count)
        var dims = shape.map { hsize_t($0) }
        let space = H5Screate_simple(Int32(dims.count), &dims, nil)
        defer { H5Sclose(space) }
        let dataset = H5Dcreate2(id, name, dl_h5t_native_float(), space, dl_h5p_default(), dl_h5p_default(), dl_h5p_default())
        guard dataset >= 0 else { throw DataError(file: path, "cannot create dataset \(name)") }
        defer { H5Dclose(dataset) }
        guard H5Dwrite(dataset, dl_h5t_native_float(), dl_h5s_all(), dl_h5s_all(), dl_h5p_default(), values) >= 0 else {
            throw DataError(file: path, "cannot write dataset \(name)")
        }
    }

    /// Reads dataset `name` as float32 (libhdf5 converts other numeric types).
    public func read(_ name: String) throws -> (shape: [Int], values: [Float]) {
        guard H5Lexists(id, name, dl_h5p_default()) > 0 else { throw DataError(file: path, "no dataset \(name)") }
        let dataset = H5Dopen2(id, name, dl_h5p_default())
        guard dataset >= 0 else { throw DataError(file: path, "cannot open dataset \(name)") }
        defer { H5Dclose(dataset) }
        let space = H5Dget_space(dataset)
        defer { H5Sclose(space) }
        let rank = Int(H5Sget_simple_extent_ndims(space))
        var dims = [hsize_t](repeating: 0, count: max(rank, 1))
        H5Sget_simple_extent_dims(space, &dims, nil)
        let shape = dims.prefix(rank).map { Int($0) }
        var values = [Float](repeating: 0, count: shape.reduce(1, *))
        guard H5Dread(dataset, dl_h5t_native_float(), dl_h5s_all(), dl_h5s_all(), dl_h5p_default(), &values) >= 0 else {
            throw DataError(file: path, "cannot read dataset \(name) as float32")
        }
        return (shape, values)
    }
}

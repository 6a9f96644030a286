import DLData
import Testing

@Suite struct HDF5Tests {
    @Test func roundTripThroughLibhdf5() throws {
        let path = try temporaryDirectory() + "/t.h5"
        let values: [Float] = [1, -2.5, 3.25, 0, 1e-7, 6]
        do {
            let file = try HDF5File.create(path)
            try file.write("weights", shape: [2, 3], values: values)
        }
        let file = try HDF5File.open(path)
        let (shape, read) = try file.read("weights")
        #expect(shape == [2, 3])
        #expect(read == values)
        #expect(errorText { try file.read("missing") }.contains("no dataset missing"))
        #expect(HDF5File.libraryVersion.hasPrefix("1."))
    }

    @Test func notAnHDF5File() throws {
        let dir = try temporaryDirectory()
        let path = try writeFile(dir, "fake.h5", "not hdf5")
        #expect(errorText { try HDF5File.open(path) }.contains("not an HDF5 file"))
    }
}

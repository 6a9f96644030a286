import COpenBLAS

/// Dense linear algebra on whole matrices, for preprocessing and diagnostics (not the
/// training step): products through BLAS, symmetric eigendecomposition through LAPACK.
public enum LinearAlgebra {
    /// `Xᵀ X` of a row-major (rows, columns) matrix, accumulated in double: (columns, columns).
    // X (rows, d) -> XᵀX (d, d)
    public static func gram(_ x: UnsafePointer<Double>, rows: Int, columns: Int) -> [Double] {
        var out = [Double](repeating: 0, count: columns * columns)
        guard rows > 0 && columns > 0 else { return out }
        out.withUnsafeMutableBufferPointer {
            Double.gemm(transposeA: true, transposeB: false, m: columns, n: columns, k: rows, alpha: 1,
                        a: x, lda: columns, b: x, ldb: columns, beta: 0, c: $0.baseAddress!, ldc: columns)
        }
        return out
    }

    /// Eigenvalues (descending) and eigenvectors of the symmetric (n, n) matrix `a`, the
    /// vectors as the columns of a row-major (n, n) matrix in the same order.
    public static func symmetricEigen(_ a: [Double], n: Int) throws -> (values: [Double], vectors: [Double]) {
        guard a.count == n * n, n > 0 else { throw ShapeError("eigen", "expected an (\(n), \(n)) matrix, got \(a.count) scalars") }
        // LAPACK is column-major; a symmetric matrix is its own transpose, and the eigenvectors
        // come back as columns of the column-major result, i.e. rows of what we read row-major.
        var matrix = a, values = [Double](repeating: 0, count: n)
        var n32 = Int32(n), info: Int32 = 0
        var workSize = 0.0, iworkSize: Int32 = 0, query: Int32 = -1
        dsyevd_("V", "U", &n32, &matrix, &n32, &values, &workSize, &query, &iworkSize, &query, &info)
        var lwork = Int32(workSize), liwork = iworkSize
        var work = [Double](repeating: 0, count: Int(lwork)), iwork = [Int32](repeating: 0, count: Int(liwork))
        dsyevd_("V", "U", &n32, &matrix, &n32, &values, &work, &lwork, &iwork, &liwork, &info)
        guard info == 0 else { throw ShapeError("eigen", "LAPACK dsyevd did not converge (info \(info))") }
        // Ascending from LAPACK; reverse to descending, transposing into row-major columns.
        var vectors = [Double](repeating: 0, count: n * n)
        for k in 0..<n {
            let source = n - 1 - k
            for i in 0..<n { vectors[i * n + k] = matrix[source * n + i] }
        }
        return (values.reversed(), vectors)
    }
}

/// The processes of a data-parallel step, as the core sees them. Each holds a contiguous
/// slice of one global batch; the train module implements the group over MPI.
public protocol ReplicaGroup: AnyObject {
    /// Sums `count` values element-wise across every member, in place, on every member.
    func sum(_ values: UnsafeMutablePointer<Double>, count: Int)
}

/// Where this process's rows sit in the global batch of a data-parallel step, so that the
/// ops whose result depends on the whole batch compute what one process would have:
/// batch norm sums its statistics across the group (synchronised batch norm), and dropout
/// draws the masks of the rows before and after this slice too, leaving every replica's
/// generator where one process's would be.
public struct BatchShare {
    /// Rows of the global batch held by earlier replicas.
    public var rowsBefore: Int
    public var globalRows: Int
    /// Nil when this process holds every row (a batch smaller than the group is replicated).
    public var group: ReplicaGroup?

    public init(rowsBefore: Int, globalRows: Int, group: ReplicaGroup?) {
        self.rowsBefore = rowsBefore
        self.globalRows = globalRows
        self.group = group
    }
}

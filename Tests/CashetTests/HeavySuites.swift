import Testing

/// Suites that load the machine (the crash, power-loss and adversarial campaigns) or need it
/// quiet (a PostgreSQL server with fsync on, whose answers time out when two campaigns fsync
/// beside it), run one after the other; every other suite still runs beside them.
@Suite("Heavy suites, one at a time", .serialized)
struct HeavySuites {}

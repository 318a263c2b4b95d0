import Testing
@testable import BreakwaterTLS

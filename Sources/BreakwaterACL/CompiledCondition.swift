import BreakwaterConfigModel

/// A rule condition compiled for evaluation on the data path (spec ACL-5).
///
/// Immutable and `Sendable`; evaluation allocates nothing for the common string fetches.
public struct CompiledCondition: Sendable {
    private let polarity: RuleCondition.Polarity
    private let terms: [[CompiledFactor]]

    public init(_ condition: RuleCondition) {
        polarity = condition.polarity
        terms = condition.terms.map { term in
            term.map { CompiledFactor(negated: $0.negated, tests: $0.tests.map(CompiledTest.init)) }
        }
    }

    /// True if the rule applies (`if` condition true, or `unless` condition false).
    public func evaluate<R: ACLRequestView>(_ request: R) -> Bool {
        var value = false
        for term in terms {
            var termValue = true
            for factor in term where !factor.evaluate(request) {
                termValue = false
                break
            }
            if termValue {
                value = true
                break
            }
        }
        return polarity == .if ? value : !value
    }
}

/// Evaluates an optional condition: no condition means the rule always applies.
@inlinable
public func ruleApplies<R: ACLRequestView>(_ condition: CompiledCondition?, to request: R) -> Bool {
    condition?.evaluate(request) ?? true
}

struct CompiledFactor: Sendable {
    let negated: Bool
    let tests: [CompiledTest]

    func evaluate<R: ACLRequestView>(_ request: R) -> Bool {
        // A named ACL is true if any of its lines matches; a fetch with no value makes it false.
        let matched = tests.contains { $0.matches(request) }
        return negated ? !matched : matched
    }
}

import Foundation
import Testing
@testable import Tuning

@Test func splitIsByCaseAndDeterministic() {
    let cases = (0 ..< 10).map { "case\($0)" }
    let first = splitByCase(cases, validationFraction: 0.2, seed: 1)
    #expect(first.validation.count == 2)
    #expect(Set(first.training).isDisjoint(with: first.validation))
    #expect(Set(first.training + first.validation) == Set(cases))
    #expect(splitByCase(cases, validationFraction: 0.2, seed: 1).validation == first.validation)
    #expect(splitByCase(["a", "b"], validationFraction: 0.1, seed: 1).validation.count == 1)
}

import Foundation
import Testing
@testable import VisionCraftServer

/// The limit rules on their own, driven by a hand-moved clock.
@Suite struct AdmissionTests {
    let policies = TierPolicies.defaults
    let start = Date(timeIntervalSince1970: 1_767_225_600)  // 2026-01-01T00:00:00Z

    func rejection(_ decision: AdmissionStateMachine.Decision) -> APIError? {
        if case .rejected(let error) = decision { return error }
        return nil
    }

    @Test func freeChatIsOneRequestPerSecond() {
        var machine = AdmissionStateMachine()
        #expect(machine.admit(keyID: 1, policy: policies.free, category: .chat, now: start) == .admitted)
        machine.release(keyID: 1)
        let error = rejection(machine.admit(keyID: 1, policy: policies.free, category: .chat, now: start.addingTimeInterval(0.5)))
        #expect(error?.status == .tooManyRequests)
        #expect(error?.message == "Free tier keys can make 1 request per 1 second for chat.")
        #expect(error?.headers[.retryAfter] == "1")
        #expect(machine.admit(keyID: 1, policy: policies.free, category: .chat, now: start.addingTimeInterval(1.0)) == .admitted)
    }

    @Test func retryAfterCountsDownTheWindow() {
        var machine = AdmissionStateMachine()
        #expect(machine.admit(keyID: 1, policy: policies.free, category: .image, now: start) == .admitted)
        machine.release(keyID: 1)
        let early = rejection(machine.admit(keyID: 1, policy: policies.free, category: .image, now: start.addingTimeInterval(2.5)))
        #expect(early?.headers[.retryAfter] == "8")
        #expect(early?.message == "Free tier keys can make 1 request per 10 seconds for image.")
        let late = rejection(machine.admit(keyID: 1, policy: policies.free, category: .image, now: start.addingTimeInterval(9.5)))
        #expect(late?.headers[.retryAfter] == "1")
        #expect(machine.admit(keyID: 1, policy: policies.free, category: .image, now: start.addingTimeInterval(10)) == .admitted)
    }

    @Test func tier1AllowsFiveChatRequestsInAnySecond() {
        var machine = AdmissionStateMachine()
        for step in 0..<5 {
            #expect(machine.admit(keyID: 7, policy: policies.tier1, category: .chat, now: start.addingTimeInterval(Double(step) * 0.1)) == .admitted)
            machine.release(keyID: 7)
        }
        #expect(rejection(machine.admit(keyID: 7, policy: policies.tier1, category: .chat, now: start.addingTimeInterval(0.9)))?.status == .tooManyRequests)
        // The first of the five leaves the window at 1.0 s.
        #expect(machine.admit(keyID: 7, policy: policies.tier1, category: .chat, now: start.addingTimeInterval(1.0)) == .admitted)
    }

    @Test func categoriesAndKeysHaveSeparateWindows() {
        var machine = AdmissionStateMachine()
        #expect(machine.admit(keyID: 1, policy: policies.tier1, category: .chat, now: start) == .admitted)
        #expect(machine.admit(keyID: 1, policy: policies.tier1, category: .image, now: start) == .admitted)
        #expect(machine.admit(keyID: 2, policy: policies.free, category: .chat, now: start) == .admitted)
    }

    @Test func theDailyQuotaIs403UntilMidnightUTC() {
        var machine = AdmissionStateMachine()
        var now = start
        for _ in 0..<20 {
            #expect(machine.admit(keyID: 1, policy: policies.free, category: .image, now: now) == .admitted)
            machine.release(keyID: 1)
            now.addTimeInterval(10)
        }
        let error = rejection(machine.admit(keyID: 1, policy: policies.free, category: .image, now: now))
        #expect(error?.status == .forbidden)
        #expect(error?.message.contains("daily quota of 20 image requests") == true)
        #expect(machine.spentToday(keyID: 1, category: .image, now: now) == 20)
        let tomorrow = start.addingTimeInterval(86_400)
        #expect(machine.admit(keyID: 1, policy: policies.free, category: .image, now: tomorrow) == .admitted)
    }

    @Test func aMonthlyQuotaIsHonoured() {
        var policy = policies.tier1
        policy.gif = CategoryLimits(perMonth: 2)
        var machine = AdmissionStateMachine()
        #expect(machine.admit(keyID: 1, policy: policy, category: .gif, now: start) == .admitted)
        #expect(machine.admit(keyID: 1, policy: policy, category: .gif, now: start.addingTimeInterval(86_400 * 3)) == .admitted)
        let error = rejection(machine.admit(keyID: 1, policy: policy, category: .gif, now: start.addingTimeInterval(86_400 * 20)))
        #expect(error?.status == .forbidden)
        #expect(error?.message.contains("monthly quota") == true)
        #expect(machine.admit(keyID: 1, policy: policy, category: .gif, now: start.addingTimeInterval(86_400 * 31)) == .admitted)
    }

    @Test func generationsAtOnceAreCappedAcrossCategories() {
        var machine = AdmissionStateMachine()
        #expect(machine.admit(keyID: 1, policy: policies.free, category: .chat, now: start) == .admitted)
        let error = rejection(machine.admit(keyID: 1, policy: policies.free, category: .image, now: start.addingTimeInterval(20)))
        #expect(error?.status == .tooManyRequests)
        #expect(error?.message == "Free tier keys can run 1 generation at a time; wait for the running one to finish.")
        machine.release(keyID: 1)
        #expect(machine.admit(keyID: 1, policy: policies.free, category: .image, now: start.addingTimeInterval(20)) == .admitted)
    }

    @Test func tier2IsUnlimited() {
        var machine = AdmissionStateMachine()
        for _ in 0..<10_000 {
            #expect(machine.admit(keyID: 1, policy: policies.tier2, category: .gif, now: start) == .admitted)
        }
        #expect(machine.inFlight[1] == 10_000)
    }

    @Test func restoredCountsSurviveARestart() {
        var machine = AdmissionStateMachine()
        machine.restore(keyID: 1, category: .chat, today: 200, thisMonth: 250, now: start)
        #expect(rejection(machine.admit(keyID: 1, policy: policies.free, category: .chat, now: start))?.status == .forbidden)
    }

    @Test func permitsReleaseOnceEvenWhenReleasedTwice() throws {
        let clock = ManualClock(start)
        let admission = Admission(policies: policies, clock: clock.wallClock)
        let key = APIKeyRecord(id: 1, prefix: "vc_x", label: nil, tier: .tier1, tierUntil: nil, isActive: true,
                               deactivationReason: nil, createdAt: start, revokedAt: nil)
        var permits: [AdmissionPermit] = []
        for _ in 0..<4 {
            permits.append(try admission.admit(key, category: .image))
            clock.advance(by: 1)
        }
        #expect(throws: APIError.self) { try admission.admit(key, category: .image) }
        permits[0].release()
        permits[0].release()
        permits.append(try admission.admit(key, category: .image))
        clock.advance(by: 1)
        #expect(throws: APIError.self) { try admission.admit(key, category: .image) }
    }

    @Test func limitsDocumentIsRenderedFromThePolicies() {
        var custom = TierPolicies.defaults
        custom.free.chat = CategoryLimits(rate: RateLimit(requests: 3, seconds: 2), perDay: 50)
        let document = custom.publicDescription
        #expect(document["Free"]?["chat"] == "3 requests per 2 seconds, 50 per day")
        #expect(document["Free"]?["image"] == "1 request per 10 seconds, 20 per day")
        #expect(document["Tier 1"]?["concurrent"] == "4 generations at a time")
        #expect(document["Tier 2"]?["gif"] == "unlimited")
    }
}

import Foundation
import LLMKernels

/// Attention: rotary positions, the KV cache, and how the work is cut into units for the threads.
extension LlamaModel {
    /// How attention's work is cut into units for the threads, and what the units do besides.
    struct AttentionPlan {
        /// Query heads per unit: a KV head's whole group (each cached key and value then read once
        /// for all of them) when there are enough groups to keep every thread busy, else one.
        var together: Int
        /// Whether each unit first rotates its query heads and its token's key, and stores the key
        /// and value in the cache: when a unit has its KV head's whole group and no sequence has two
        /// tokens in the batch (one token's attention would need another's key, stored by another
        /// unit) — a decode step, saving the threads a hand-off per layer.
        var rotatesAndStores: Bool
        /// Whether each unit quantizes its output for the projection after it, as it is whole blocks.
        var quantizesOutput: Bool
        /// Units per token: its query heads, `together` at a time.
        var unitsPerToken: Int
        /// Whether units go head by head, every token of the batch for one group of query heads
        /// before the next group (a prompt: consecutive units read the same KV head's cache, grown
        /// by one position, so it stays in the processor's cache — token by token, each unit read
        /// another KV head's, and long prompts waited on memory), or token by token (decode steps
        /// of many sequences, which share no cache anyway).
        var headMajor: Bool

        /// Unit `work`'s token and its place among the token's units.
        func split(_ work: Int, tokens: Int) -> (token: Int, unit: Int) {
            headMajor ? (work % tokens, work / tokens) : (work / unitsPerToken, work % unitsPerToken)
        }
    }

    func attentionPlan(tokens: Int, oneTokenPerSequence: Bool) -> AttentionPlan {
        let group = config.headCount / config.kvHeadCount
        let together = tokens * config.kvHeadCount >= 2 * pool.threadCount ? group : 1
        return AttentionPlan(together: together, rotatesAndStores: together == group && oneTokenPerSequence,
                             quantizesOutput: together * config.headDimension % 32 == 0,
                             unitsPerToken: config.headCount / together, headMajor: !oneTokenPerSequence)
    }

    /// Each token's cache slot for each KV head of `layer`, token by token.
    func cacheSlots(layer: Int, steps: [Step]) -> [CacheSlot] {
        var slots: [CacheSlot] = []
        slots.reserveCapacity(steps.count * config.kvHeadCount)
        for step in steps {
            for head in 0..<config.kvHeadCount { slots.append(step.state.slot(layer: layer, head: head)) }
        }
        return slots
    }

    /// Asks for the KV cache of the attention unit `thread` starts with, while the product before
    /// attention computes: every later unit is fetched while the one before it computes, but the
    /// first had nothing before it.
    func prefetchFirstUnit(_ plan: AttentionPlan, layer: Int, thread: Int, slots: [CacheSlot], positions: [Int]) {
        let units = positions.count * plan.unitsPerToken
        let work = units * thread / pool.threadCount
        guard work < units else { return }
        let unit = attentionUnit(work, plan: plan, layer: layer, slots: slots, positions: positions)
        guard unit.slot.format == .bytes else { return }
        llmk_prefetch_kv8(unit.slot.byteView(unit.attended), Int32(config.headDimension))
    }

    /// Attention unit `work` of `layer`: its token, its place among the token's units, its KV head,
    /// the cache slot it reads and the positions it attends to (up to the token's own, whose key and
    /// value it stores first; in a sliding-window layer only the window's last positions).
    func attentionUnit(
        _ work: Int, plan: AttentionPlan, layer: Int, slots: [CacheSlot], positions: [Int]
    ) -> (token: Int, unit: Int, kvHead: Int, slot: CacheSlot, attended: Range<Int>) {
        let group = config.headCount / config.kvHeadCount
        let (token, unit) = plan.split(work, tokens: positions.count), kvHead = unit * plan.together / group
        let end = positions[token] + 1, window = config.layers[layer].window ?? end
        return (token, unit, kvHead, slots[token * config.kvHeadCount + kvHead], max(0, end - window)..<end)
    }

    /// RoPE on token `token`'s query heads of `kvHeads`' groups and on those KV heads' keys (each
    /// head normalized first where the architecture does), which are stored with their values in
    /// the token's cache slots.
    func rotateAndStore(
        token: Int, kvHeads: Range<Int>, layer: Int, slots: [CacheSlot], positions: [Int], scratch: ForwardScratch
    ) {
        let headDimension = config.headDimension, group = config.headCount / config.kvHeadCount
        let rotation = rotation(scratch, token: token, layer: layer), weights = weights.layers[layer]
        let queries = scratch.query + token * config.queryWidth + kvHeads.lowerBound * group * headDimension
        if let norm = weights.queryNorm {
            rmsNorm(queries, tokens: 0..<kvHeads.count * group, length: headDimension, weight: norm, into: queries)
        }
        rotate(queries, heads: kvHeads.count * group, rotation: rotation)
        if config.architecture.scalesQueries {
            let scale = attentionScale
            for j in 0..<kvHeads.count * group * headDimension { queries[j] *= scale }
        }
        for head in kvHeads {
            let row = token * config.kvDimension + head * headDimension
            if let norm = weights.keyNorm {
                rmsNorm(scratch.key + row, tokens: 0..<1, length: headDimension, weight: norm, into: scratch.key + row)
            }
            rotate(scratch.key + row, heads: 1, rotation: rotation)
            slots[token * config.kvHeadCount + head].store(position: positions[token], key: scratch.key + row,
                                                           value: scratch.value + row)
        }
    }

    /// Attention of every token over its sequence so far, into `scratch.attentionOut`, unit by unit
    /// as `plan` says. The same arithmetic per head either way: over the 8-bit cache in the
    /// blockwise order, llama.cpp's over its half-precision cache in llama.cpp's.
    func attention(_ plan: AttentionPlan, layer: Int, slots: [CacheSlot], positions: [Int], scratch: ForwardScratch) {
        let headDimension = config.headDimension, together = plan.together, unitsPerToken = plan.unitsPerToken
        let scale = config.architecture.scalesQueries ? 1 : attentionScale
        let units = positions.count * unitsPerToken
        pool.runShared(units) { thread, share in
            let scores = scratch.scores + thread * scratch.scoresPerThread
            for work in share {
                let (token, unit, kvHead, slot, attended) = attentionUnit(work, plan: plan, layer: layer, slots: slots,
                                                                          positions: positions)
                let column = unit * together * headDimension, offset = token * config.queryWidth + column
                if plan.rotatesAndStores {
                    rotateAndStore(token: token, kvHeads: kvHead..<kvHead + 1, layer: layer, slots: slots,
                                   positions: positions, scratch: scratch)
                }
                // The next unit's cache is fetched towards the processor while this one computes
                // (the next piece of a thread's share mostly starts where this one ends).
                let upcoming = work + 1 < units
                    ? attentionUnit(work + 1, plan: plan, layer: layer, slots: slots, positions: positions) : nil
                switch slot.format {
                case .half:
                    let cache = slot.halfView(attended)
                    let next = upcoming.map { $0.slot.halfView($0.attended) }
                    llmk_attention(Int32(together), scratch.query + offset, cache.keys, cache.values, Int32(headDimension),
                                   Int32(headDimension), cache.count, cache.skip, scale, scores, scratch.attentionOut + offset,
                                   next ?? llmk_cache_view())
                case .bytes:
                    let next = upcoming.map { $0.slot.byteView($0.attended) }
                    llmk_attention_kv8(Int32(together), scratch.query + offset, slot.byteView(attended),
                                       Int32(headDimension), scale, scores, scratch.attentionOut + offset,
                                       next ?? llmk_kv8_view())
                }
                if plan.quantizesOutput {
                    scratch.quantizedAttention.quantize(scratch.attentionOut, vectors: token..<token + 1,
                                                        columns: column..<column + together * headDimension)
                }
            }
        }
    }

    /// 1/√(head width): what scores are scaled by (or queries, `scalesQueries`).
    var attentionScale: Float { 1 / Float(config.headDimension).squareRoot() }

    /// For token `token` of the batch, each of the model's RoPEs: cos and sin of scale · position ·
    /// base^(−2i/d) for each rotary pair i, the angle stepped (and then scaled) as ggml does.
    func fillRotations(_ scratch: ForwardScratch, token: Int, position: Int) {
        for (index, rope) in config.rotations.enumerated() {
            let rotation = scratch.rotation + (token * config.rotations.count + index) * config.headDimension
            let thetaScale = pow(rope.base, -2 / Float(config.headDimension))
            var theta = Float(position)
            for pair in 0..<config.headDimension / 2 {
                let angle = rope.scale * theta
                rotation[2 * pair] = cos(angle)
                rotation[2 * pair + 1] = sin(angle)
                theta *= thetaScale
            }
        }
    }

    /// Token `token`'s cos and sin for `layer`'s RoPE.
    func rotation(_ scratch: ForwardScratch, token: Int, layer: Int) -> UnsafeMutablePointer<Float> {
        scratch.rotation + (token * config.rotations.count + config.layers[layer].rotation) * config.headDimension
    }

    func rotate(_ vector: UnsafeMutablePointer<Float>, heads: Int, rotation: UnsafeMutablePointer<Float>) {
        // Where a pair's second value sits: next to the first, or half a head on.
        let partner = config.rotaryStyle == .adjacentPairs ? 1 : config.headDimension / 2
        llmk_rope(vector, Int32(heads), Int32(config.headDimension), rotation, Int32(partner))
    }
}

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
    }

    func attentionPlan(tokens: Int, oneTokenPerSequence: Bool) -> AttentionPlan {
        let group = config.headCount / config.kvHeadCount
        let together = tokens * config.kvHeadCount >= 2 * pool.threadCount ? group : 1
        return AttentionPlan(together: together, rotatesAndStores: together == group && oneTokenPerSequence,
                             quantizesOutput: together * config.headDimension % 32 == 0,
                             unitsPerToken: config.headCount / together)
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
    func prefetchFirstUnit(_ plan: AttentionPlan, thread: Int, slots: [CacheSlot], positions: [Int]) {
        let units = positions.count * plan.unitsPerToken
        let work = units * thread / pool.threadCount
        guard work < units else { return }
        let unit = attentionUnit(work, plan: plan, slots: slots, positions: positions)
        guard unit.slot.format == .bytes else { return }
        llmk_prefetch_kv8(unit.slot.byteView(count: unit.count), Int32(config.headDimension))
    }

    /// Attention unit `work`: its token, its KV head, the cache slot it reads and how many positions
    /// it attends to (with the token's own, whose key and value it stores first).
    func attentionUnit(
        _ work: Int, plan: AttentionPlan, slots: [CacheSlot], positions: [Int]
    ) -> (token: Int, kvHead: Int, slot: CacheSlot, count: Int) {
        let group = config.headCount / config.kvHeadCount
        let token = work / plan.unitsPerToken, kvHead = work % plan.unitsPerToken * plan.together / group
        return (token, kvHead, slots[token * config.kvHeadCount + kvHead], positions[token] + 1)
    }

    /// RoPE on token `token`'s query heads of `kvHeads`' groups and on those KV heads' keys, which are
    /// stored with their values in the token's cache slots.
    func rotateAndStore(
        token: Int, kvHeads: Range<Int>, slots: [CacheSlot], positions: [Int], scratch: ForwardScratch
    ) {
        let headDimension = config.headDimension, group = config.headCount / config.kvHeadCount
        let rotation = scratch.rotation + token * headDimension
        rotate(scratch.query + token * config.embeddingLength + kvHeads.lowerBound * group * headDimension,
               heads: kvHeads.count * group, rotation: rotation)
        for head in kvHeads {
            let row = token * config.kvDimension + head * headDimension
            rotate(scratch.key + row, heads: 1, rotation: rotation)
            slots[token * config.kvHeadCount + head].store(position: positions[token], key: scratch.key + row,
                                                           value: scratch.value + row)
        }
    }

    /// Attention of every token over its sequence so far, into `scratch.attentionOut`, unit by unit
    /// as `plan` says. The same arithmetic per head either way: over the 8-bit cache in the
    /// blockwise order, llama.cpp's over its half-precision cache in llama.cpp's.
    func attention(_ plan: AttentionPlan, slots: [CacheSlot], positions: [Int], scratch: ForwardScratch) {
        let headDimension = config.headDimension, together = plan.together, unitsPerToken = plan.unitsPerToken
        let scale = 1 / Float(headDimension).squareRoot()
        let units = positions.count * unitsPerToken
        pool.runShared(units) { thread, share in
            let scores = scratch.scores + thread * scratch.scoresPerThread
            for work in share {
                let (token, kvHead, slot, cached) = attentionUnit(work, plan: plan, slots: slots, positions: positions)
                let column = work % unitsPerToken * together * headDimension
                let offset = token * config.embeddingLength + column
                if plan.rotatesAndStores {
                    rotateAndStore(token: token, kvHeads: kvHead..<kvHead + 1, slots: slots, positions: positions,
                                   scratch: scratch)
                }
                // The next unit's cache is fetched towards the processor while this one computes
                // (the next piece of a thread's share mostly starts where this one ends).
                let upcoming = work + 1 < units
                    ? attentionUnit(work + 1, plan: plan, slots: slots, positions: positions) : nil
                switch slot.format {
                case .half:
                    let cache = slot.halfView(count: cached)
                    let next = upcoming.map { $0.slot.halfView(count: $0.count) }
                    llmk_attention(Int32(together), scratch.query + offset, cache.keys, cache.values, Int32(headDimension),
                                   Int32(headDimension), cache.count, scale, scores, scratch.attentionOut + offset,
                                   next ?? llmk_cache_view())
                case .bytes:
                    let next = upcoming.map { $0.slot.byteView(count: $0.count) }
                    llmk_attention_kv8(Int32(together), scratch.query + offset, slot.byteView(count: cached),
                                       Int32(headDimension), scale, scores, scratch.attentionOut + offset,
                                       next ?? llmk_kv8_view())
                }
                if plan.quantizesOutput {
                    scratch.quantizedEmbedding.quantize(scratch.attentionOut, vectors: token..<token + 1,
                                                        columns: column..<column + together * headDimension)
                }
            }
        }
    }

    /// cos and sin of position · base^(−2i/d) for each rotary pair i, the angle stepped as ggml does.
    func fillRotation(_ rotation: UnsafeMutablePointer<Float>, position: Int) {
        let thetaScale = pow(config.ropeFrequencyBase, -2 / Float(config.headDimension))
        var theta = Float(position)
        for pair in 0..<config.headDimension / 2 {
            rotation[2 * pair] = cos(theta)
            rotation[2 * pair + 1] = sin(theta)
            theta *= thetaScale
        }
    }

    func rotate(_ vector: UnsafeMutablePointer<Float>, heads: Int, rotation: UnsafeMutablePointer<Float>) {
        // Where a pair's second value sits: next to the first, or half a head on.
        let partner = config.rotaryStyle == .adjacentPairs ? 1 : config.headDimension / 2
        llmk_rope(vector, Int32(heads), Int32(config.headDimension), rotation, Int32(partner))
    }
}

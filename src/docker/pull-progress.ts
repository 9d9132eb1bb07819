import type { PullProgress } from './runtime.js'

/** One line of the Engine API's pull stream (POST /images/create). */
export interface PullEvent {
  id?: string
  status?: string
  progressDetail?: { current?: number; total?: number }
  error?: string
  errorDetail?: { message?: string }
}

interface Layer {
  done: boolean
  current: number
  total: number
}

/**
 * Folds the pull stream into layers and bytes. A layer line says "Pulling fs layer", "Waiting",
 * "Downloading" (with current/total), "Verifying Checksum", "Download complete", "Extracting",
 * "Pull complete" or "Already exists"; other lines (the repository, "Digest:", "Status:") carry
 * no layer. Pure, apart from its own state.
 */
export class PullProgressTracker {
  private readonly layers = new Map<string, Layer>()

  /** Feeds one event; returns the progress after it, or undefined when it said nothing about layers. */
  add(e: PullEvent): PullProgress | undefined {
    const status = e.status ?? ''
    if (!e.id || !isLayerStatus(status)) return undefined
    const layer = this.layers.get(e.id) ?? { done: false, current: 0, total: 0 }
    this.layers.set(e.id, layer)
    if (status === 'Downloading') {
      layer.current = e.progressDetail?.current ?? layer.current
      layer.total = e.progressDetail?.total ?? layer.total
    } else if (status === 'Download complete' || status === 'Verifying Checksum' || status === 'Extracting') {
      layer.current = layer.total
    } else if (status === 'Pull complete' || status === 'Already exists') {
      layer.current = layer.total
      layer.done = true
    }
    return this.progress()
  }

  progress(): PullProgress {
    let layersDone = 0
    let bytes = 0
    let bytesTotal = 0
    for (const l of this.layers.values()) {
      if (l.done) layersDone++
      bytes += l.current
      bytesTotal += l.total
    }
    return { layers: this.layers.size, layersDone, bytes, bytesTotal }
  }
}

const LAYER_STATUSES = new Set(['Pulling fs layer', 'Waiting', 'Downloading', 'Verifying Checksum', 'Download complete', 'Extracting', 'Pull complete', 'Already exists'])
const isLayerStatus = (s: string) => LAYER_STATUSES.has(s) || s.startsWith('Retrying in')

/** The error an event carries, if any (a failure after the stream started). */
export const pullEventError = (e: PullEvent): string | undefined => e.errorDetail?.message ?? e.error

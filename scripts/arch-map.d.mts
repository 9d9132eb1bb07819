// Types for scripts/arch-map.mjs, for test/unit/architecture.test.ts.
export interface Edge { to: string; typeOnly: boolean; dynamic: boolean }
export interface FileNode { lines: number; edges: Edge[]; external: Array<{ pkg: string; typeOnly: boolean; dynamic: boolean }> }
export interface Floor { floor: number; name: string; match?: string[] }
export declare const FLOORS: Floor[]
export declare const CONFINED: Record<string, string>
export declare function floorOf(file: string): Floor
export declare function roomOf(file: string): string
export declare function graph(): Map<string, FileNode>
export declare function cycles(nodes: Map<string, FileNode>): Array<{ files: string[]; edges: string[] }>
export declare function violations(nodes: Map<string, FileNode>): {
  cycles: Array<{ files: string[]; edges: string[] }>
  confinement: string[]
  impurePlanner: string[]
  verbToVerb: string[]
  upward: string[]
}
export declare function rooms(nodes: Map<string, FileNode>): { total: number; rooms: Array<{ room: string; files: number; lines: number; floor: string; share: number }> }
export interface Trip {
  entry: string
  roomsEntered: number
  distinctRooms: number
  climbs: number
  files: number
  mostEnteredFiles: Array<[string, number]>
  roomEntries: Array<[string, number]>
  rooms: string[]
}
export declare function deployTrip(opts?: { entry?: string; traceFrom?: number }): Trip

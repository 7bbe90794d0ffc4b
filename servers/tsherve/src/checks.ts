// Type guards for plain data that crossed a process or thread boundary (IPC messages, snapshots).
export const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
export const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
export const isCount = (v: unknown): v is number => isNumber(v) && v >= 0;
export const isInt = (v: unknown, min: number, max: number): v is number => typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
export const isCountRecord = (v: unknown): v is Record<string, number> => isObject(v) && Object.values(v).every(isCount);

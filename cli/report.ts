export async function runReportCommand(_argv: readonly string[]): Promise<number> {
  return 2;
}
export async function runEvidenceCommand(_argv: readonly string[]): Promise<number> {
  return 2;
}

"""List prices (us-east-1, no free tier) and what a migration costs at them."""

from __future__ import annotations

from dataclasses import dataclass

from emulator.cloudformation import read_application

SFN_STANDARD_PER_TRANSITION = 0.025 / 1000
LAMBDA_PER_REQUEST = 0.20 / 1_000_000
LAMBDA_ARM64_PER_GB_SECOND = 0.0000133334


@dataclass(frozen=True)
class LambdaAssumptions:
    warm_ms: float  # billed duration of a warm invocation
    init_ms: float  # billed INIT of a cold start, once per function per migration
    functions: int  # distinct functions one migration invokes
    memory_mb: int

    def describe(self) -> str:
        return (
            f"Lambda: {self.memory_mb} MB arm64 (template.yaml), {self.warm_ms:g} ms billed per warm invocation "
            f"and "
            f"{self.init_ms:g} ms of billed INIT for each of the {self.functions} functions once per migration "
            "(assumed: AWS latency of one to three ECS calls, and a cold start per function)"
        )


def memory_mb() -> int:
    template = read_application().template
    sizes = [
        r.get("Properties", {}).get("MemorySize")
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Serverless::Function"
    ]
    default = template.get("Globals", {}).get("Function", {}).get("MemorySize", 128)
    return max(size or default for size in sizes)


def dollars(transitions: float, invocations: float, lam: LambdaAssumptions) -> tuple[float, float]:
    """(Step Functions, Lambda) in USD."""
    gb_seconds = (invocations * lam.warm_ms + lam.functions * lam.init_ms) / 1000 * lam.memory_mb / 1024
    return (
        transitions * SFN_STANDARD_PER_TRANSITION,
        invocations * LAMBDA_PER_REQUEST + gb_seconds * LAMBDA_ARM64_PER_GB_SECOND,
    )

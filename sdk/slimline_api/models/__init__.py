"""Contains all the data models used in inputs/outputs"""

from .accuracy import Accuracy
from .api_key_list import ApiKeyList
from .api_key_read import ApiKeyRead
from .artifact_read import ArtifactRead
from .chunked_upload_complete import ChunkedUploadComplete
from .chunked_upload_create import ChunkedUploadCreate
from .chunked_upload_create_kind import ChunkedUploadCreateKind
from .chunked_upload_read import ChunkedUploadRead
from .chunked_upload_read_kind import ChunkedUploadReadKind
from .chunked_upload_read_status import ChunkedUploadReadStatus
from .class_metrics import ClassMetrics
from .data_split import DataSplit
from .data_split_report import DataSplitReport
from .dataset_read import DatasetRead
from .encoder_latency import EncoderLatency
from .environment import Environment
from .environment_libraries import EnvironmentLibraries
from .evaluation import Evaluation
from .evaluation_state_type_0 import EvaluationStateType0
from .evaluation_task import EvaluationTask
from .event_read import EventRead
from .event_read_data import EventReadData
from .event_read_type import EventReadType
from .fidelity import Fidelity
from .fine_tune import FineTune
from .fine_tune_device import FineTuneDevice
from .fine_tune_schedule import FineTuneSchedule
from .gpu_read import GpuRead
from .hardware_class_read import HardwareClassRead
from .hardware_read import HardwareRead
from .hardware_read_generic_queues import HardwareReadGenericQueues
from .healthz_response_healthz import HealthzResponseHealthz
from .job_create import JobCreate
from .job_error import JobError
from .job_read import JobRead
from .job_read_status import JobReadStatus
from .job_result import JobResult
from .language_model_report import LanguageModelReport
from .language_model_report_kind import LanguageModelReportKind
from .list_jobs_status_type_0 import ListJobsStatusType0
from .measurement import Measurement
from .memory_use import MemoryUse
from .model_read import ModelRead
from .model_read_format import ModelReadFormat
from .output_judged import OutputJudged
from .output_judged_kind import OutputJudgedKind
from .output_limit import OutputLimit
from .output_limit_kind import OutputLimitKind
from .output_quality import OutputQuality
from .output_quality_kind import OutputQualityKind
from .output_quality_limits import OutputQualityLimits
from .output_quality_metrics import OutputQualityMetrics
from .page_dataset_read import PageDatasetRead
from .page_job_read import PageJobRead
from .page_model_read import PageModelRead
from .pareto_point import ParetoPoint
from .pareto_point_params import ParetoPointParams
from .part_read import PartRead
from .preflight import Preflight
from .problem import Problem
from .problem_errors_item import ProblemErrorsItem
from .prune_pass import PrunePass
from .prune_pass_importance import PrunePassImportance
from .prune_pass_method import PrunePassMethod
from .prune_pass_scope import PrunePassScope
from .quality_limit import QualityLimit
from .quality_limit_outputs import QualityLimitOutputs
from .quantize_pass import QuantizePass
from .quantize_pass_activation_type import QuantizePassActivationType
from .quantize_pass_calibration import QuantizePassCalibration
from .quantize_pass_mode import QuantizePassMode
from .quantize_pass_model_type import QuantizePassModelType
from .quantize_pass_weight_type import QuantizePassWeightType
from .ratio import Ratio
from .recipe import Recipe
from .report import Report
from .report_baseline_model import ReportBaselineModel
from .report_passes_item import ReportPassesItem
from .report_quality_limit import ReportQualityLimit
from .sensitivity_entry import SensitivityEntry
from .skipped_candidate import SkippedCandidate
from .speedup_interval import SpeedupInterval
from .target import Target
from .target_device import TargetDevice
from .target_run import TargetRun
from .target_run_status import TargetRunStatus
from .task_metrics import TaskMetrics
from .task_scores import TaskScores
from .task_scores_task import TaskScoresTask
from .tensor_spec import TensorSpec
from .timing_conditions import TimingConditions
from .token_latency import TokenLatency
from .transfer_pass import TransferPass
from .transfer_pass_device import TransferPassDevice
from .transfer_pass_mode import TransferPassMode
from .transfer_pass_task import TransferPassTask
from .tune import Tune
from .tune_objective import TuneObjective
from .tune_sampler import TuneSampler
from .tuning import Tuning
from .tuning_limit import TuningLimit
from .tuning_objective import TuningObjective
from .tuning_storage import TuningStorage
from .tuning_trial import TuningTrial
from .tuning_trial_metrics_type_0 import TuningTrialMetricsType0
from .tuning_trial_params import TuningTrialParams
from .tuning_trial_state import TuningTrialState
from .upload_dataset_body import UploadDatasetBody
from .upload_model_body import UploadModelBody
from .verdict import Verdict
from .verdict_judged_by import VerdictJudgedBy
from .verdict_state import VerdictState
from .webhook_secret import WebhookSecret
from .weight_only_pass import WeightOnlyPass
from .weight_only_pass_accuracy_level import WeightOnlyPassAccuracyLevel
from .weight_only_pass_algorithm import WeightOnlyPassAlgorithm
from .weight_only_pass_bits import WeightOnlyPassBits
from .weight_only_pass_block_size import WeightOnlyPassBlockSize
from .weight_only_pass_mode import WeightOnlyPassMode
from .worker_read import WorkerRead
from .worker_read_state import WorkerReadState

__all__ = (
    "Accuracy",
    "ApiKeyList",
    "ApiKeyRead",
    "ArtifactRead",
    "ChunkedUploadComplete",
    "ChunkedUploadCreate",
    "ChunkedUploadCreateKind",
    "ChunkedUploadRead",
    "ChunkedUploadReadKind",
    "ChunkedUploadReadStatus",
    "ClassMetrics",
    "DataSplit",
    "DataSplitReport",
    "DatasetRead",
    "EncoderLatency",
    "Environment",
    "EnvironmentLibraries",
    "Evaluation",
    "EvaluationStateType0",
    "EvaluationTask",
    "EventRead",
    "EventReadData",
    "EventReadType",
    "Fidelity",
    "FineTune",
    "FineTuneDevice",
    "FineTuneSchedule",
    "GpuRead",
    "HardwareClassRead",
    "HardwareRead",
    "HardwareReadGenericQueues",
    "HealthzResponseHealthz",
    "JobCreate",
    "JobError",
    "JobRead",
    "JobReadStatus",
    "JobResult",
    "LanguageModelReport",
    "LanguageModelReportKind",
    "ListJobsStatusType0",
    "Measurement",
    "MemoryUse",
    "ModelRead",
    "ModelReadFormat",
    "OutputJudged",
    "OutputJudgedKind",
    "OutputLimit",
    "OutputLimitKind",
    "OutputQuality",
    "OutputQualityKind",
    "OutputQualityLimits",
    "OutputQualityMetrics",
    "PageDatasetRead",
    "PageJobRead",
    "PageModelRead",
    "ParetoPoint",
    "ParetoPointParams",
    "PartRead",
    "Preflight",
    "Problem",
    "ProblemErrorsItem",
    "PrunePass",
    "PrunePassImportance",
    "PrunePassMethod",
    "PrunePassScope",
    "QualityLimit",
    "QualityLimitOutputs",
    "QuantizePass",
    "QuantizePassActivationType",
    "QuantizePassCalibration",
    "QuantizePassMode",
    "QuantizePassModelType",
    "QuantizePassWeightType",
    "Ratio",
    "Recipe",
    "Report",
    "ReportBaselineModel",
    "ReportPassesItem",
    "ReportQualityLimit",
    "SensitivityEntry",
    "SkippedCandidate",
    "SpeedupInterval",
    "Target",
    "TargetDevice",
    "TargetRun",
    "TargetRunStatus",
    "TaskMetrics",
    "TaskScores",
    "TaskScoresTask",
    "TensorSpec",
    "TimingConditions",
    "TokenLatency",
    "TransferPass",
    "TransferPassDevice",
    "TransferPassMode",
    "TransferPassTask",
    "Tune",
    "TuneObjective",
    "TuneSampler",
    "Tuning",
    "TuningLimit",
    "TuningObjective",
    "TuningStorage",
    "TuningTrial",
    "TuningTrialMetricsType0",
    "TuningTrialParams",
    "TuningTrialState",
    "UploadDatasetBody",
    "UploadModelBody",
    "Verdict",
    "VerdictJudgedBy",
    "VerdictState",
    "WebhookSecret",
    "WeightOnlyPass",
    "WeightOnlyPassAccuracyLevel",
    "WeightOnlyPassAlgorithm",
    "WeightOnlyPassBits",
    "WeightOnlyPassBlockSize",
    "WeightOnlyPassMode",
    "WorkerRead",
    "WorkerReadState",
)

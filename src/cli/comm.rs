//! The flags of `gpubench comm`: GPUs, collectives, message sizes and iterations, and a rank of
//! a job.

use std::path::PathBuf;

use crate::cli::flags::ClusterFlags;
use crate::comm::busbw::{self, Op};
use crate::comm::measure::Elem;

/// Flags of `gpubench comm`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  gpubench comm                                   # every GPU, every operation, bf16, 8 B to 1 GiB
  gpubench comm --device 0,1 --op all_reduce --max-bytes 8G --save comm.json
  srun -N2 --ntasks-per-node=8 --gpus-per-task=1 gpubench comm --rendezvous tcp --save comm.json
  srun -N16 --ntasks-per-node=1 gpubench comm --results-dir links/ && gpubench report links/
  gpubench estimate --model llama-70b --gpus 64 --gpu h100-sxm --comm-profile comm.json")]
pub struct CommArgs {
    /// GPUs driven by this process: `all` or a list of ordinals (`0,1,2,3`). As one rank of
    /// a job (under srun, mpirun, torchrun or with --rank), the one GPU of the rank: `all`
    /// means the local rank's GPU.
    #[arg(long, default_value = "all")]
    pub device: String,
    /// Operations (comma-separated); default all.
    #[arg(long, value_enum, value_delimiter = ',')]
    pub op: Vec<Op>,
    /// Element types (comma-separated): bf16, fp32. The first one's curves are saved.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "bf16")]
    pub dtype: Vec<Elem>,
    /// Smallest message (bytes; K, M, G suffixes are binary), as nccl-tests' -b.
    #[arg(long, default_value = "8", value_parser = busbw::parse_bytes)]
    pub min_bytes: u64,
    /// Largest message (up to 8G), as nccl-tests' -e. Each GPU holds two buffers this large.
    #[arg(long, default_value = "1G", value_parser = busbw::parse_bytes)]
    pub max_bytes: u64,
    /// Size multiplier from one message to the next, as nccl-tests' -f.
    #[arg(long, default_value_t = 2)]
    pub factor: u64,
    /// Untimed iterations per size.
    #[arg(long, default_value_t = 5)]
    pub warmup: u32,
    /// Timed iterations per size (between one pair of CUDA events per GPU).
    #[arg(long, default_value_t = 20)]
    pub iters: u32,
    /// Seconds any one wait may take (communicator creation, one size's iterations) before
    /// the collective is aborted.
    #[arg(long, default_value_t = 120.0)]
    pub timeout: f64,
    /// Save the profile (busbw curves and every point) to FILE.
    #[arg(long, value_name = "FILE")]
    pub save: Option<PathBuf>,
    /// Replace FILE if it exists.
    #[arg(long)]
    pub force: bool,
    /// Print the profile as JSON instead of the table.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub cluster: ClusterFlags,
    /// Save this node's profile as comm-<host>.json in DIR (a folder every node sees), for
    /// `gpubench report DIR` to compare the nodes' links; one process per node drives its GPUs.
    #[arg(long, value_name = "DIR")]
    pub results_dir: Option<PathBuf>,
}

#include "reference/mpi_team.h"

#include <mpi.h>

#include <chrono>
#include <climits>
#include <thread>
#include <cstdlib>

#include "model/error.h"

namespace gpt2::reference {

std::unique_ptr<MpiJob> MpiJob::join_if_launched(int* argc, char*** argv) {
  // mpirun (Open MPI), PMIx launchers and MPICH's hydra (PMI) set these.
  if (!std::getenv("OMPI_COMM_WORLD_SIZE") && !std::getenv("PMIX_RANK") && !std::getenv("PMI_SIZE"))
    return nullptr;
  int provided = 0;
  // The reference's worker threads never call MPI: only the main thread does.
  MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided);
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  return std::unique_ptr<MpiJob>(new MpiJob(rank, size));
}

MpiJob::~MpiJob() { MPI_Finalize(); }

void MpiJob::all_gather(const std::vector<uint8_t>& mine, std::vector<uint8_t>& all,
                        const std::vector<int64_t>& sizes) const {
  GPT2_CHECK(static_cast<int>(sizes.size()) == size_, "one size per rank");
  GPT2_CHECK(static_cast<int64_t>(mine.size()) == sizes[rank_], "this rank's size");
  std::vector<int> counts(size_), offsets(size_);
  int64_t total = 0;
  for (int r = 0; r < size_; ++r) {
    // MPI counts bytes in int: one exchange holds at most 2 GiB.
    GPT2_CHECK(total + sizes[r] <= INT_MAX, "an exchange of more than 2 GiB");
    counts[r] = static_cast<int>(sizes[r]);
    offsets[r] = static_cast<int>(total);
    total += sizes[r];
  }
  all.resize(static_cast<size_t>(total));
  MPI_Allgatherv(mine.data(), counts[rank_], MPI_BYTE, all.data(), counts.data(), offsets.data(),
                 MPI_BYTE, MPI_COMM_WORLD);
  bytes_sent += sizes[rank_];
  bytes_received += total - sizes[rank_];
  ++collectives;
}

bool MpiJob::all_arrive_within(double seconds) const {
  MPI_Request request;
  MPI_Ibarrier(MPI_COMM_WORLD, &request);
  const double start = MPI_Wtime();
  int done = 0;
  while (true) {
    MPI_Test(&request, &done, MPI_STATUS_IGNORE);
    if (done) return true;
    if (MPI_Wtime() - start > seconds) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

void MpiJob::abort(int exit_code) const {
  MPI_Abort(MPI_COMM_WORLD, exit_code);
  std::_Exit(exit_code);
}

}  // namespace gpt2::reference
